#!/usr/bin/env bash
# Brings up the MiniStatefulSet e2e cluster: real etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler (v1.37.2, built from source by
# test/tools/build.sh) plus kwok faking ${MSTS_NODES} nodes and their pods
# according to test/cluster/stages.yaml. Nothing is downloaded. The API server has
# OwnerReferencesPermissionEnforcement on, as many production clusters do, so the
# RBAC of deploy/ is tested against it.
#
# Usage: test/cluster/up.sh
# Env (besides those in lib.sh):
#   MSTS_SKIP_BUILD=1      do not run test/tools/build.sh first
#   MSTS_CLUSTER_REUSE=1   keep an existing healthy cluster instead of
#                          recreating it
#   MSTS_READY_DELAY_MS=N  a new pod becomes Ready N ms after it starts
#                          (default 0: at once; make run uses 2000)
#   MSTS_KCM_ARGS="k=v ..." extra flags of kube-controller-manager (the benchmark's
#                          --controllers and --kube-api-qps)
#   MSTS_AUDIT_POLICY=FILE write the API server's audit log with this policy
#                          (kwokctl logs audit, or the cluster's logs/audit.log)
#   MSTS_DNS_PORT=N        also run CoreDNS (test/cluster/Corefile) serving
#                          cluster.local on 127.0.0.1:N (udp+tcp); its /ready
#                          endpoint is on MSTS_DNS_READY_PORT (default N+1)
# Afterwards: export KUBECONFIG="${MSTS_CLUSTER_DIR}/kubeconfig"
#   (or: source "${MSTS_CLUSTER_DIR}/env")
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$(date +%s)

BINS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl)
[[ -n "${MSTS_DNS_PORT:-}" ]] && BINS+=(coredns)
if [[ "${MSTS_SKIP_BUILD:-0}" != 1 ]]; then
  "${MSTS_REPO_ROOT}/test/tools/build.sh" "${BINS[@]}"
fi
for b in "${BINS[@]}"; do
  [[ -x "${MSTS_BIN_DIR}/${b}" ]] || msts_die "missing ${MSTS_BIN_DIR}/${b}; run test/tools/build.sh"
done
mkdir -p "${MSTS_CLUSTER_DIR}"

msts_stop_coredns
reuse=0
if msts_cluster_exists; then
  if [[ "${MSTS_CLUSTER_REUSE:-0}" == 1 ]] && k get --raw /readyz >/dev/null 2>&1; then
    msts_log "reusing running cluster ${MSTS_CLUSTER_NAME}"
    reuse=1
  else
    msts_log "deleting existing cluster ${MSTS_CLUSTER_NAME}"
    kwokctl delete cluster --kubeconfig "${MSTS_KUBECONFIG}" >&2 || true
  fi
fi

if [[ ${reuse} == 0 ]]; then
  rm -f "${MSTS_KUBECONFIG}"
  ready_delay="${MSTS_READY_DELAY_MS:-0}"
  [[ "${ready_delay}" =~ ^[0-9]+$ ]] || msts_die "MSTS_READY_DELAY_MS must be a number of milliseconds, got '${ready_delay}'"
  stages="${MSTS_CLUSTER_DIR}/stages.yaml"
  sed "s/durationMilliseconds: 0 # MSTS_READY_DELAY_MS/durationMilliseconds: ${ready_delay}/" \
    "${MSTS_CLUSTER_LIB_DIR}/stages.yaml" >"${stages}"
  grep -q "durationMilliseconds: ${ready_delay}\$" "${stages}" || msts_die "could not set the ready delay in ${stages}"
  msts_log "creating cluster ${MSTS_CLUSTER_NAME} in ${KWOK_WORKDIR}"
  # One controller manager and one scheduler: no leader election, so that an API
  # server restart (test/cluster/restart-apiserver.sh) longer than their renew
  # deadline does not make them exit.
  # kwokctl v0.8.0 files a component's later --extra-args under the component whose
  # first --extra-args had the same position among the flags as this one's first
  # had among the components: keep the first three flags one per component, in the
  # order apiserver, controller-manager, scheduler, and every later flag follows them.
  extra=()
  for kv in ${MSTS_KCM_ARGS:-}; do extra+=(--extra-args "kube-controller-manager=${kv}"); done
  [[ -n "${MSTS_AUDIT_POLICY:-}" ]] && extra+=(--kube-audit-policy "${MSTS_AUDIT_POLICY}")
  t0=$(date +%s)
  kwokctl create cluster \
    --runtime binary \
    --etcd-binary "${MSTS_BIN_DIR}/etcd" \
    --kube-apiserver-binary "${MSTS_BIN_DIR}/kube-apiserver" \
    --kube-controller-manager-binary "${MSTS_BIN_DIR}/kube-controller-manager" \
    --kube-scheduler-binary "${MSTS_BIN_DIR}/kube-scheduler" \
    --kwok-controller-binary "${MSTS_BIN_DIR}/kwok" \
    --config "${MSTS_CLUSTER_LIB_DIR}/kwokctl.yaml" \
    --config "${stages}" \
    --disable-qps-limits \
    --extra-args "kube-apiserver=service-cluster-ip-range=10.96.0.0/16" \
    --extra-args "kube-controller-manager=leader-elect=false" \
    --extra-args "kube-scheduler=leader-elect=false" \
    "${extra[@]+"${extra[@]}"}" \
    --extra-args "kube-apiserver=enable-admission-plugins=OwnerReferencesPermissionEnforcement" \
    --kubeconfig "${MSTS_KUBECONFIG}" \
    --wait 120s >&2 \
    || msts_die "kwokctl create cluster failed; component logs: ${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}/logs"
  msts_log "control plane up in $(( $(date +%s) - t0 ))s; pods become Ready ${ready_delay} ms after they start"

  t0=$(date +%s)
  kwokctl scale node --replicas "${MSTS_NODES}" >&2
  count_ready_nodes() {
    [[ "$(k get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')" -ge "${MSTS_NODES}" ]]
  }
  msts_wait_for 60 "${MSTS_NODES} Ready nodes" count_ready_nodes || msts_die "nodes did not become Ready"
  # Pods can only be created once the ServiceAccount admission plugin finds
  # the namespace's default ServiceAccount. A controller manager told which
  # controllers to run (the benchmark's) may run none that makes it.
  # Nor one that lifts the not-ready taint new nodes are born with (the node
  # lifecycle controller): lift it here, once the nodes are Ready.
  if [[ "${MSTS_KCM_ARGS:-}" == *controllers=* ]]; then
    k -n default create serviceaccount default >/dev/null 2>&1 || true
    k taint nodes --all node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  fi
  # kube-controller-manager exits when the API server is not healthy within its
  # own bound, and kwokctl does not start it again: on a loaded machine the API
  # server took 41 s to come up and the controller manager had given up at 12 s, so
  # no ServiceAccount was ever made (seen in a CI run). Each try starts again what
  # has exited.
  sa_or_heal() {
    local healed
    healed="$("${MSTS_CLUSTER_LIB_DIR}/heal.sh" 2>/dev/null)" || true
    [[ -n "${healed}" ]] && msts_log "started again: ${healed} (exited during the bring-up)" 2>&4
    k -n default get serviceaccount default
  }
  exec 4>&2 # msts_wait_for silences the check; what it heals is still said
  msts_wait_for 90 "default ServiceAccount" sa_or_heal \
    || msts_die "default ServiceAccount was not created"
  msts_log "${MSTS_NODES} nodes Ready in $(( $(date +%s) - t0 ))s"
fi

if [[ -n "${MSTS_DNS_PORT:-}" ]]; then
  export MSTS_DNS_PORT
  export MSTS_DNS_READY_PORT="${MSTS_DNS_READY_PORT:-$((MSTS_DNS_PORT + 1))}"
  t0=$(date +%s)
  nohup "${MSTS_BIN_DIR}/coredns" -conf "${MSTS_CLUSTER_LIB_DIR}/Corefile" \
    >"${MSTS_CLUSTER_DIR}/coredns.log" 2>&1 </dev/null &
  echo $! >"${MSTS_CLUSTER_DIR}/coredns.pid"
  msts_wait_for 30 "CoreDNS ready on 127.0.0.1:${MSTS_DNS_READY_PORT}" msts_http_ok "${MSTS_DNS_READY_PORT}" /ready \
    || msts_die "CoreDNS did not become ready; see ${MSTS_CLUSTER_DIR}/coredns.log"
  msts_log "CoreDNS serving cluster.local on 127.0.0.1:${MSTS_DNS_PORT} (ready in $(( $(date +%s) - t0 ))s)"
fi

cat >"${MSTS_CLUSTER_DIR}/env" <<EOF
export KUBECONFIG='${MSTS_KUBECONFIG}'
export MSTS_KUBECONFIG='${MSTS_KUBECONFIG}'
export MSTS_BIN_DIR='${MSTS_BIN_DIR}'
export MSTS_CLUSTER_NAME='${MSTS_CLUSTER_NAME}'
export KWOK_WORKDIR='${KWOK_WORKDIR}'
export KUBECACHEDIR='${KUBECACHEDIR}'
export MSTS_DNS_PORT='${MSTS_DNS_PORT:-}'
export MSTS_DNS_READY_PORT='${MSTS_DNS_READY_PORT:-}'
export PATH='${MSTS_BIN_DIR}':"\${PATH}"
EOF
msts_log "cluster ${MSTS_CLUSTER_NAME} ready in $(( $(date +%s) - start ))s; KUBECONFIG=${MSTS_KUBECONFIG}"
