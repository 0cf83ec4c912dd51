#!/usr/bin/env bash
# Starts again the components of the cluster up.sh made that are no longer running
# (kwokctl's binary runtime does not supervise them: a kube-scheduler that exits stays
# down), then waits for the API server to serve. Prints the components it started.
#
# Usage: test/cluster/heal.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pids="${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}/pids"
[[ -d "${pids}" ]] || msts_die "no cluster ${MSTS_CLUSTER_NAME} in ${KWOK_WORKDIR}: set MSTS_CLUSTER_DIR and MSTS_CLUSTER_NAME"
down=()
for f in "${pids}"/*.pid; do
  pid="$(cat "${f}" 2>/dev/null || true)"
  if [[ -z "${pid}" || ! -e "/proc/${pid}" || "$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null)" == Z ]]; then
    down+=("$(basename "${f}" .pid)")
    # kwokctl's own check (a signal 0) would still see a zombie: drop the pid file.
    rm -f "${f}"
  fi
done
[[ ${#down[@]} -gt 0 ]] || exit 0
msts_log "starting again: ${down[*]}"
timeout 60 "${MSTS_BIN_DIR}/kwokctl" --name "${MSTS_CLUSTER_NAME}" start cluster >&2 || true
msts_wait_for 30 "kube-apiserver /readyz" k get --raw /readyz || msts_die "the cluster did not come back"
echo "${down[*]}"
