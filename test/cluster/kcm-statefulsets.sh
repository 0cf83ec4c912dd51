#!/usr/bin/env bash
# Switches kube-controller-manager's own StatefulSet controller off or on in the
# cluster up.sh made, for the drop-in mode's tests (--manage=statefulsets):
#   off  stops kube-controller-manager and starts it again with the same command
#        line plus --controllers=*,-statefulset-controller (every other controller
#        runs as before), its pid in kwokctl's pid file, so that kwokctl stops it
#        with the cluster;
#   on   stops that one and has kwokctl start kube-controller-manager as it was
#        configured (test/cluster/heal.sh).
# Each waits for kube-controller-manager's /healthz.
#
# Usage: test/cluster/kcm-statefulsets.sh off|on
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cluster="${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}"
pidfile="${cluster}/pids/kube-controller-manager.pid"
log="${cluster}/logs/kube-controller-manager.log"
[[ -f "${pidfile}" ]] || msts_die "no kube-controller-manager pid file in ${cluster}/pids: set MSTS_CLUSTER_DIR and MSTS_CLUSTER_NAME"

running() { local pid; pid="$(cat "${pidfile}" 2>/dev/null)" && [[ -e "/proc/${pid}" ]] && [[ "$(awk '{print $3}' "/proc/${pid}/stat")" != Z ]]; }
gone() { [[ ! -e "/proc/$1" ]] || [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]]; }
stop() {
  local pid
  pid="$(cat "${pidfile}")"
  kill -TERM "${pid}" 2>/dev/null || true
  msts_wait_for 30 "kube-controller-manager (pid ${pid}) to exit" gone "${pid}" || kill -KILL "${pid}"
}
healthy() {
  local port
  port="$(tr '\0' '\n' <"/proc/$(cat "${pidfile}")/cmdline" | sed -n 's/^--secure-port=//p')"
  [[ -n "${port}" ]] && curl -ksf "https://127.0.0.1:${port}/healthz" >/dev/null
}

case "${1:-}" in
off)
  running || msts_die "kube-controller-manager is not running"
  mapfile -d '' argv <"/proc/$(cat "${pidfile}")/cmdline"
  args=()
  for a in "${argv[@]:1}"; do
    [[ "${a}" == --controllers=* ]] && continue
    args+=("${a}")
  done
  stop
  setsid "${argv[0]}" "${args[@]}" --controllers='*,-statefulset-controller' >>"${log}" 2>&1 </dev/null &
  echo $! >"${pidfile}"
  msts_wait_for 30 "kube-controller-manager without its StatefulSet controller to be healthy" healthy \
    || msts_die "kube-controller-manager did not come back; see ${log}"
  msts_log "kube-controller-manager runs without its StatefulSet controller (pid $(cat "${pidfile}"))"
  ;;
on)
  if running; then stop; fi
  "${MSTS_CLUSTER_LIB_DIR}/heal.sh" >/dev/null
  msts_wait_for 30 "kube-controller-manager to be healthy" healthy || msts_die "kube-controller-manager did not come back; see ${log}"
  msts_log "kube-controller-manager runs with its StatefulSet controller (pid $(cat "${pidfile}"))"
  ;;
*) msts_die "usage: $0 off|on" ;;
esac
