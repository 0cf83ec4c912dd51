#!/usr/bin/env bash
# The main job of `make run`: on the local cluster (made by up.sh with a ready
# delay, so each pod takes its turn visibly), start the controller first, with its
# log in a file, then apply the example, and show the set's live timeline in the
# foreground: redis-0, then redis-1, then redis-2. Ctrl-C stops the timeline and
# the controller; the cluster stays up until `make cluster-down`.
#
# Usage: test/cluster/run.sh CONTROLLER_BIN PLUGIN_BIN MANIFEST SET
# Env (besides those in lib.sh): MSTS_RUN_LOG (the controller's log file),
#   MSTS_RUN_PROBE_PORT, MSTS_RUN_METRICS_PORT (18081, 18080: probes and /metrics),
#   MSTS_DNS_PORT (printed in the hints), MSTS_RUN_FOR (stop the timeline after
#   this long, e.g. 30s; default: until Ctrl-C)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

controller_bin=$1 plugin_bin=$2 manifest=$3 set_name=$4
log="${MSTS_RUN_LOG:-${MSTS_CLUSTER_DIR}/controller.log}"
probe_port="${MSTS_RUN_PROBE_PORT:-18081}"
metrics_port="${MSTS_RUN_METRICS_PORT:-18080}"

"${controller_bin}" --kubeconfig "${MSTS_KUBECONFIG}" -v=2 \
  --health-probe-bind-address "127.0.0.1:${probe_port}" \
  --metrics-bind-address "127.0.0.1:${metrics_port}" >"${log}" 2>&1 &
controller=$!
stop() {
  kill -TERM "${controller}" 2>/dev/null || true
  wait "${controller}" 2>/dev/null || true
}
trap stop EXIT
msts_wait_for 30 "the controller's /readyz on 127.0.0.1:${probe_port}" msts_http_ok "${probe_port}" /readyz \
  || msts_die "the controller did not become ready; its log: ${log}"

k apply -f "${manifest}" >&2
bin_dir="$(cd "$(dirname "${plugin_bin}")" && pwd)"
cat >&2 <<EOF2

MiniStatefulSet controller running (pid ${controller}); its log: ${log}
Below, the live timeline of msts/${set_name}: each pod is created only once the one
before it is Running and Ready (pods here take a moment to become Ready).
In another shell:
  export KUBECONFIG=${MSTS_KUBECONFIG} PATH=${bin_dir}:${MSTS_BIN_DIR}:\$PATH
  kubectl msts status ${set_name}                   # one line per ordinal, and what it waits for
  kubectl scale msts/${set_name} --replicas=1       # then ${set_name}-2 goes, then ${set_name}-1
  kubectl msts hold ${set_name}-0                   # hold a pod un-Ready and watch the set stop
  kubectl get msts,pods,pvc -o wide
  dig @127.0.0.1 -p ${MSTS_DNS_PORT:-15353} ${set_name}-0.${set_name}.default.svc.cluster.local
  curl -s 127.0.0.1:${metrics_port}/metrics | grep -E '^(ministatefulset|workqueue)_'   # metrics
Ctrl-C stops the timeline and the controller; 'make cluster-down' stops the cluster.

EOF2
args=(timeline "${set_name}" --watch --kubeconfig "${MSTS_KUBECONFIG}")
[[ -n "${MSTS_RUN_FOR:-}" ]] && args+=(--for "${MSTS_RUN_FOR}")
"${plugin_bin}" "${args[@]}"
