# Shared settings for test/cluster/*.sh. Source it; do not run it.
# Env (all optional):
#   MSTS_BIN_DIR        binaries from test/tools/build.sh (default <repo>/.cache/bin)
#   MSTS_CLUSTER_DIR    cluster state, logs and kubeconfig (default <repo>/.cache/cluster)
#   MSTS_CLUSTER_NAME   kwok cluster name (default msts-e2e)
#   MSTS_NODES          number of fake nodes (default 3)

MSTS_CLUSTER_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MSTS_REPO_ROOT="$(cd "${MSTS_CLUSTER_LIB_DIR}/../.." && pwd)"
MSTS_BIN_DIR="${MSTS_BIN_DIR:-${MSTS_REPO_ROOT}/.cache/bin}"
MSTS_CLUSTER_DIR="${MSTS_CLUSTER_DIR:-${MSTS_REPO_ROOT}/.cache/cluster}"
MSTS_CLUSTER_NAME="${MSTS_CLUSTER_NAME:-msts-e2e}"
MSTS_NODES="${MSTS_NODES:-3}"
MSTS_KUBECONFIG="${MSTS_CLUSTER_DIR}/kubeconfig"
export MSTS_BIN_DIR MSTS_CLUSTER_DIR MSTS_CLUSTER_NAME MSTS_KUBECONFIG

# Keep kwokctl's whole work dir (~/.kwok by default: clusters, logs, pki,
# download cache) inside the cluster dir, and make sure it only ever finds our
# own binaries: our bin dir goes first on PATH (kwokctl looks kubectl up on
# PATH) and KWOK_KUBECTL_BINARY points at our kubectl so nothing is fetched.
export KWOK_WORKDIR="${MSTS_CLUSTER_DIR}/kwok"
export KWOK_KUBECTL_BINARY="${MSTS_BIN_DIR}/kubectl"
export PATH="${MSTS_BIN_DIR}:${PATH}"
# kubectl's discovery cache (default ~/.kube/cache) stays in the cluster dir too.
export KUBECACHEDIR="${MSTS_CLUSTER_DIR}/kube-cache"

msts_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
msts_die() { printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

kwokctl() { "${MSTS_BIN_DIR}/kwokctl" --name "${MSTS_CLUSTER_NAME}" "$@"; }
k() { "${MSTS_BIN_DIR}/kubectl" --kubeconfig "${MSTS_KUBECONFIG}" "$@"; }

msts_cluster_exists() {
  "${MSTS_BIN_DIR}/kwokctl" get clusters 2>/dev/null | grep -qx "${MSTS_CLUSTER_NAME}"
}

# msts_wait_for SECONDS DESCRIPTION COMMAND... : retry COMMAND every 0.5s.
msts_wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      msts_log "timed out after ${timeout}s waiting for: ${what}"
      "$@" || true
      return 1
    fi
    sleep 0.5
  done
}

# msts_http_ok PORT PATH: plain-HTTP GET on 127.0.0.1 answers 200 (bash only).
msts_http_ok() {
  local status
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  IFS= read -r status <&3 || status=
  exec 3<&- 3>&-
  [[ "${status}" == *" 200 "* ]]
}

# Stops the CoreDNS started by up.sh (by its recorded pid), if any.
msts_stop_coredns() {
  local pidfile="${MSTS_CLUSTER_DIR}/coredns.pid" pid
  [[ -f "${pidfile}" ]] || return 0
  pid="$(cat "${pidfile}")"
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null \
     && [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == coredns ]]; then
    kill "${pid}" 2>/dev/null || true
  fi
  rm -f "${pidfile}"
}
