#!/usr/bin/env bash
# Checks what a machine needs before make starts anything long, with one clear
# message for each thing missing, instead of a failure deep inside a script.
#
# Usage: test/cluster/prereqs.sh [race] [cluster]
#   race     the unit tests' race detector: cgo and a C compiler
#   cluster  the local cluster: Linux, free disk for its binaries, its DNS ports free
# Env: MSTS_DNS_PORT (default 15353), MSTS_TOOLS_CACHE (default ~/.cache/ministatefulset/tools)
set -uo pipefail

want_go="1.26"
problems=()
need() { problems+=("$1"); }

if ! command -v go >/dev/null 2>&1; then
  need "Go ${want_go} or newer is not on PATH: install it from https://go.dev/dl (on these machines: /usr/local/go/bin)"
else
  have="$(go env GOVERSION 2>/dev/null)"; have="${have#go}"
  if [[ "$(printf '%s\n%s\n' "${want_go}" "${have}" | sort -V | head -1)" != "${want_go}" ]]; then
    need "Go ${want_go} or newer is needed, this is Go ${have}"
  fi
fi
if (( BASH_VERSINFO[0] < 4 )); then
  need "bash 4 or newer is needed for the scripts, this is bash ${BASH_VERSION}"
fi

for what in "$@"; do
  case "${what}" in
  race)
    cc="$(go env CC 2>/dev/null)"; cc="${cc:-gcc}"
    if [[ "$(go env CGO_ENABLED 2>/dev/null)" != 1 ]] || ! command -v "${cc%% *}" >/dev/null 2>&1; then
      need "the unit tests run with -race, which needs cgo and a C compiler ('${cc}' not found or CGO_ENABLED=0): apt-get install gcc"
    fi
    ;;
  cluster)
    if [[ "$(uname -s)" != Linux ]]; then
      need "the local cluster runs Linux builds of etcd, kube-apiserver and kwok; this is $(uname -s): use kind instead (make kind-up, needs Docker)"
    fi
    cache="${MSTS_TOOLS_CACHE:-${HOME}/.cache/ministatefulset/tools}"
    mkdir -p "${cache}" 2>/dev/null
    free_kb="$(df -Pk "${cache}" 2>/dev/null | awk 'NR==2 {print $4}')"
    if [[ -n "${free_kb}" ]] && (( free_kb < 4 * 1024 * 1024 )); then
      need "the cluster's binaries (about 600 MB in ${cache}) and their Go modules (about 3 GB) need 4 GB free; $(( free_kb / 1024 )) MB are"
    fi
    port="${MSTS_DNS_PORT:-15353}"
    if command -v ss >/dev/null 2>&1; then
      for p in "${port}" "$(( port + 1 ))"; do
        holder="$(ss -Hltnp "sport = :${p}" 2>/dev/null)"
        if [[ -n "${holder}" && "${holder}" != *coredns* ]]; then
          need "port ${p} (the local cluster's DNS, DNS_PORT=${port}) is taken by another program: free it or pass DNS_PORT=another"
        fi
      done
    fi
    ;;
  *) need "prereqs.sh: unknown check '${what}'" ;;
  esac
done

if (( ${#problems[@]} > 0 )); then
  for p in "${problems[@]}"; do printf 'prerequisite missing: %s\n' "${p}" >&2; done
  exit 1
fi
