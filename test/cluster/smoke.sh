#!/usr/bin/env bash
# Checks that the cluster from up.sh really behaves like a cluster for
# MiniStatefulSet's purposes. Run after up.sh; leaves the cluster running.
#   - all nodes Ready
#   - kube-controller-manager runs the garbage collector and the statefulset
#     and PV controllers (checked in its log and by behaviour)
#   - a plain pod gets scheduled and goes Running/Ready (kwok fakes it)
#   - a static PV (storageClassName "") binds to a PVC via the PV controller
#   - a headless Service gets EndpointSlices carrying pod hostnames
#   - the stages in stages.yaml: hold-unready, fail, delayed delete
# Prints "N passed, M failed" and exits non-zero if anything failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f "${MSTS_KUBECONFIG}" ]] || msts_die "no kubeconfig at ${MSTS_KUBECONFIG}; run test/cluster/up.sh"
NS=msts-smoke
LOGS="${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}/logs"
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); msts_log "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); msts_log "FAIL: $*"; }
check() { # check DESCRIPTION TIMEOUT COMMAND...
  local what=$1 timeout=$2
  shift 2
  if msts_wait_for "${timeout}" "${what}" "$@"; then pass "${what}"; else fail "${what}"; fi
}
jp() { k -n "${NS}" get "$1" -o jsonpath="$2" 2>/dev/null; }
is() { [[ "$(jp "$1" "$2")" == "$3" ]]; }
t_start=$(date +%s)

k delete namespace "${NS}" --ignore-not-found --wait=true >/dev/null
k create namespace "${NS}" >/dev/null
msts_wait_for 30 "ServiceAccount ${NS}/default" k -n "${NS}" get serviceaccount default

# ------------------------------------------------------------------ nodes --
all_nodes_ready() {
  local st
  st="$(k get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')"
  [[ -n "${st}" && "$(grep -cv '^True$' <<<"${st}")" == 0 && "$(grep -c . <<<"${st}")" -ge "${MSTS_NODES}" ]]
}
check "${MSTS_NODES} nodes Ready" 30 all_nodes_ready

# ---------------------------------------------------- controller manager --
kcm_log_has() { grep -qF "$1" "${LOGS}/kube-controller-manager.log"; }
for line in '"Starting controller" controller="garbagecollector"' '"Starting stateful set controller"' \
            '"Starting persistent volume controller"' '"Starting endpoint slice controller"'; do
  check "kube-controller-manager log: ${line}" 30 kcm_log_has "${line}"
done
kcm_default_controllers() {
  local pid
  pid="$(cat "${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}/pids/kube-controller-manager.pid")"
  ! tr '\0' '\n' <"/proc/${pid}/cmdline" | grep -q -- '^--controllers'
}
check "kube-controller-manager runs the default controller set (no --controllers)" 1 kcm_default_controllers

# ------------------------------------------------------------------- pods --
k -n "${NS}" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
  - name: c
    image: registry.invalid/never-pulled:1
EOF
check "pod plain Running+Ready" 30 is pod/plain '{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}' "Running/True"
check "pod plain has a node and an IP" 5 bash -c '[[ -n "$1" && -n "$2" ]]' _ "$(jp pod/plain '{.spec.nodeName}')" "$(jp pod/plain '{.status.podIP}')"

# --------------------------------------------------------- garbage collector --
k -n "${NS}" create configmap gc-owner >/dev/null
owner_uid="$(jp configmap/gc-owner '{.metadata.uid}')"
k -n "${NS}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: gc-dependent
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: gc-owner
    uid: ${owner_uid}
EOF
k -n "${NS}" delete configmap gc-owner >/dev/null
gone() { ! k -n "${NS}" get "$1" >/dev/null 2>&1; }
check "garbage collector deletes dependent of a deleted owner" 60 gone configmap/gc-dependent

# ------------------------------------------------------------- PV / PVC --
k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolume
metadata:
  name: msts-smoke-pv
  labels:
    msts.test/smoke: "true"
spec:
  capacity:
    storage: 1Gi
  accessModes: ["ReadWriteOnce"]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath:
    path: /tmp/msts-smoke-pv
EOF
k -n "${NS}" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: ["ReadWriteOnce"]
  storageClassName: ""
  resources:
    requests:
      storage: 1Gi
  selector:
    matchLabels:
      msts.test/smoke: "true"
EOF
check "PVC binds to static PV through the PV controller" 60 is pvc/data '{.status.phase}/{.spec.volumeName}' "Bound/msts-smoke-pv"

# ---------------------------------- StatefulSet + headless Service + slices --
k -n "${NS}" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - name: http
    port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: c
        image: registry.invalid/never-pulled:1
        ports:
        - name: http
          containerPort: 80
EOF
check "builtin StatefulSet controller makes web-0, web-1 Ready" 60 is statefulset/web '{.status.readyReplicas}' "2"
slice_hostnames() {
  k -n "${NS}" get endpointslices -l kubernetes.io/service-name=web \
    -o jsonpath='{range .items[*].endpoints[*]}{.hostname}{" "}{.conditions.ready}{"\n"}{end}' | sort | tr '\n' ';'
}
has_hostnames() { [[ "$(slice_hostnames)" == "web-0 true;web-1 true;" ]]; }
check "headless Service EndpointSlice carries hostnames web-0, web-1" 30 has_hostnames

# ----------------------------------------------------------------- stages --
k -n "${NS}" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: held
  annotations:
    msts.test/hold-unready: "true"
spec:
  containers:
  - name: c
    image: registry.invalid/never-pulled:1
EOF
check "hold-unready pod is Running but not Ready" 30 is pod/held '{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}' "Running/False"
sleep 3
check "hold-unready pod still not Ready 3s later" 1 is pod/held '{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}' "Running/False"
k -n "${NS}" annotate pod held msts.test/hold-unready- >/dev/null
check "removing the annotation makes it Ready" 30 is pod/held '{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}' "Running/True"
k -n "${NS}" annotate pod held msts.test/hold-unready=true >/dev/null
check "re-adding the annotation makes it un-Ready again" 30 is pod/held '{.status.conditions[?(@.type=="Ready")].status}' "False"

k -n "${NS}" annotate pod plain msts.test/fail=true >/dev/null
check "fail annotation turns a Running pod Failed" 30 is pod/plain '{.status.phase}/{.status.containerStatuses[0].state.terminated.exitCode}' "Failed/1"

k -n "${NS}" annotate pod held msts.test/delete-delay=4s --overwrite >/dev/null
t_del=$(date +%s.%N)
k -n "${NS}" delete pod held --wait=false >/dev/null
sleep 2
if k -n "${NS}" get pod held -o jsonpath='{.metadata.deletionTimestamp}' 2>/dev/null | grep -q .; then
  pass "deleted pod with delete-delay=4s still present (terminating) after 2s"
else
  fail "deleted pod with delete-delay=4s vanished before 2s"
fi
check "deleted pod is gone after its delay" 15 gone pod/held
msts_log "pod with delete-delay=4s lived $(awk -v a="${t_del}" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s after delete (poll granularity 0.5s)"

# StatefulSet recreates a failed pod (uses the fail stage on a managed pod).
uid0="$(jp pod/web-0 '{.metadata.uid}')"
k -n "${NS}" annotate pod web-0 msts.test/fail=true >/dev/null
replaced() { [[ "$(jp pod/web-0 '{.metadata.uid}/{.status.phase}')" =~ ^[^/]+/Running$ && "$(jp pod/web-0 '{.metadata.uid}')" != "${uid0}" ]]; }
check "StatefulSet controller replaces a Failed web-0" 60 replaced

# ---------------------------------------------------------------- cleanup --
k delete namespace "${NS}" --wait=false >/dev/null
k delete pv msts-smoke-pv --wait=false >/dev/null
msts_log "smoke checks took $(( $(date +%s) - t_start ))s"
echo "${PASSED} passed, ${FAILED} failed"
[[ ${FAILED} == 0 ]]
