#!/usr/bin/env bash
# Restarts only the kube-apiserver of the cluster up.sh made, as a crash would:
# kills it (SIGKILL by default), waits until the process and all its threads are
# gone (so its port is free), and has kwokctl start the cluster again, which starts
# only the components that do not run (etcd, the controller manager, the scheduler
# and kwok keep running). Waits for /readyz and prints the seconds the API server
# was away on stdout. A restart that does not come up is retried.
#
# Usage: test/cluster/restart-apiserver.sh [SIGNAL]   (SIGNAL: KILL, the default, or
# TERM; with TERM the API server shuts down gracefully, which waits up to 60s for its
# open watches, so a restart takes a minute instead of about 3s).
# The API server's earlier logs are kept as kube-apiserver.log.<n> next to the
# new one (kwokctl truncates the log when it starts a component).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sig="${1:-KILL}"
cluster="${KWOK_WORKDIR}/clusters/${MSTS_CLUSTER_NAME}"
pidfile="${cluster}/pids/kube-apiserver.pid"
logs="${cluster}/logs"
[[ -d "${cluster}/pids" ]] || msts_die "no cluster ${MSTS_CLUSTER_NAME} in ${KWOK_WORKDIR}: set MSTS_CLUSTER_DIR and MSTS_CLUSTER_NAME"

# alive PID: the process exists and is a kube-apiserver that is not a zombie.
alive() {
  [[ -e "/proc/$1" && "$(cat "/proc/$1/comm" 2>/dev/null)" == kube-apiserver \
     && "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}
# gone PID: no thread of the process is left (a zombie leader nobody reaped yet
# counts once its other threads are gone: only then are its sockets closed).
gone() {
  [[ ! -e "/proc/$1" ]] && return 0
  [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]] || return 1
  local tasks
  tasks="$(ls "/proc/$1/task" 2>/dev/null | wc -l)"
  (( tasks <= 1 ))
}
keep_log() {
  local n=1
  while [[ -e "${logs}/kube-apiserver.log.${n}" ]]; do n=$((n + 1)); done
  cp "${logs}/kube-apiserver.log" "${logs}/kube-apiserver.log.${n}" 2>/dev/null || true
}
# stop_current: kill the API server the pid file names, if it runs, and wait.
stop_current() {
  local pid
  pid="$(cat "${pidfile}" 2>/dev/null || true)"
  if [[ -n "${pid}" ]] && alive "${pid}"; then
    kill "-$1" "${pid}"
    msts_wait_for 90 "kube-apiserver (pid ${pid}) to exit" gone "${pid}" || msts_die "kube-apiserver did not exit"
  fi
  # kwokctl's own check (a signal 0) would still see a zombie: drop the pid file.
  rm -f "${pidfile}"
}

# all_running: every component kwokctl started has a live process.
all_running() {
  local f pid
  for f in "${cluster}"/pids/*.pid; do
    pid="$(cat "${f}" 2>/dev/null || true)"
    if [[ -z "${pid}" || ! -e "/proc/${pid}" || "$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null)" == Z ]]; then
      msts_log "$(basename "${f}" .pid) is not running"
      rm -f "${f}"
      return 1
    fi
  done
}

t0=$(date +%s.%N)
stop_current "${sig}"
keep_log
for attempt in 1 2 3; do
  # kwokctl waits up to 2 minutes for the cluster to serve; the readyz wait below
  # decides, so its wait is cut short.
  timeout 30 "${MSTS_BIN_DIR}/kwokctl" --name "${MSTS_CLUSTER_NAME}" start cluster >&2 || true
  if ! msts_wait_for 30 "kube-apiserver /readyz" k get --raw /readyz; then
    msts_log "kube-apiserver did not come back (attempt ${attempt}); its log ends with:"
    tail -3 "${logs}/kube-apiserver.log" >&2 || true
    keep_log
    stop_current KILL
    continue
  fi
  # another component may have exited while the API server was away: start it too
  all_running || continue
  t1=$(date +%s.%N)
  msts_log "kube-apiserver killed with SIG${sig} and back, ready $(awk -v a="${t0}" -v b="${t1}" 'BEGIN{printf "%.2f", b-a}')s later (attempt ${attempt})"
  awk -v a="${t0}" -v b="${t1}" 'BEGIN{printf "%.2f\n", b-a}'
  exit 0
done
msts_die "kube-apiserver did not come back after 3 attempts"
