#!/usr/bin/env bash
# Builds the pinned binaries the e2e test cluster needs (etcd, the Kubernetes
# control plane, kubectl, kwok/kwokctl, CoreDNS) from Go modules fetched
# through the Go module proxy. Nothing else is downloaded; only Go is needed.
#
# Usage: test/tools/build.sh [--force] [--list] [NAME...]
#   NAME      build only these binaries (default: all)
#   --force   rebuild even if the stamp says the binary is up to date
#   --list    print "NAME VERSION PACKAGE MODULE-DIR" for every binary and exit
# Env:
#   MSTS_BIN_DIR      output directory (default: <repo>/.cache/bin)
#   MSTS_TOOLS_CACHE  where built binaries are kept across clones, one file per
#                     binary and stamp (default: ${XDG_CACHE_HOME:-~/.cache}/ministatefulset/tools)
#
# Each tool family lives in its own Go module under test/tools/<dir>/ (their
# dependency graphs conflict: Kubernetes v1.37 pins etcd v3.7 libraries and
# kwok v0.8.0 pins k8s.io/* v0.36). The pinned version is the one in that
# go.mod. A binary is rebuilt only when the hash of its module's go.mod +
# go.sum, this script, the package path and the Go version changes. Built
# binaries are kept in MSTS_TOOLS_CACHE under their stamp, so a fresh clone (CI
# clones afresh every run) links them into its bin dir instead of rebuilding.
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${TOOLS_DIR}/../.." && pwd)"
BIN_DIR="${MSTS_BIN_DIR:-${REPO_ROOT}/.cache/bin}"
STAMP_DIR="${BIN_DIR}/.stamps"
TOOLS_CACHE="${MSTS_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/ministatefulset/tools}"
SELF="${TOOLS_DIR}/$(basename "${BASH_SOURCE[0]}")"

# name | module dir | package | module whose version is the binary's version | ldflags flavour
TOOLS=(
  "etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3|etcd"
  "kube-apiserver|k8s|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes|k8s"
  "kube-controller-manager|k8s|k8s.io/kubernetes/cmd/kube-controller-manager|k8s.io/kubernetes|k8s"
  "kube-scheduler|k8s|k8s.io/kubernetes/cmd/kube-scheduler|k8s.io/kubernetes|k8s"
  "kubectl|k8s|k8s.io/kubernetes/cmd/kubectl|k8s.io/kubernetes|k8s"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|sigs.k8s.io/kwok|kwok"
  "kwokctl|kwok|sigs.k8s.io/kwok/cmd/kwokctl|sigs.k8s.io/kwok|kwok"
  "coredns|coredns|github.com/coredns/coredns|github.com/coredns/coredns|coredns"
)

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() { printf '[build.sh] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum (coreutils) is not on PATH"
# Never let a go.work file around the repo pull the tools modules into a
# workspace; binaries are static and cgo-free (no C toolchain needed).
export GOWORK=off

FORCE=0
LIST=0
WANT=()
for arg in "$@"; do
  case "${arg}" in
    --force) FORCE=1 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,18p' "${SELF}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown flag ${arg}" ;;
    *) WANT+=("${arg}") ;;
  esac
done

# Validate requested names.
for w in "${WANT[@]+"${WANT[@]}"}"; do
  found=0
  for t in "${TOOLS[@]}"; do [[ "${t%%|*}" == "${w}" ]] && found=1; done
  [[ ${found} == 1 ]] || die "unknown binary '${w}' (known: $(for t in "${TOOLS[@]}"; do printf '%s ' "${t%%|*}"; done))"
done

wanted() {
  [[ ${#WANT[@]} == 0 ]] && return 0
  local w
  for w in "${WANT[@]}"; do [[ "${w}" == "$1" ]] && return 0; done
  return 1
}

# Version of module $2 as selected by the tools module in directory $1.
module_version() {
  (cd "${TOOLS_DIR}/$1" && go list -m -f '{{.Version}}' "$2")
}

# Commit time of module $2 (used as a reproducible build date).
module_time() {
  (cd "${TOOLS_DIR}/$1" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2")
}

# ldflags for a flavour: $1 flavour, $2 module dir, $3 version module, $4 version.
ldflags_for() {
  local flavour=$1 dir=$2 vmod=$3 version=$4
  local flags="-s -w"
  case "${flavour}" in
    k8s)
      # vX.Y.Z -> major X, minor Y. Set in both version packages, as the
      # upstream build does, so servers and clients report v1.37.2.
      local core=${version#v} major minor date pkg
      core=${core%%[-+]*}
      major=${core%%.*}
      minor=${core#*.}; minor=${minor%%.*}
      date="$(module_time "${dir}" "${vmod}")"
      [[ -n "${date}" ]] || date="1970-01-01T00:00:00Z"
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X ${pkg}.gitVersion=${version}"
        flags+=" -X ${pkg}.gitMajor=${major}"
        flags+=" -X ${pkg}.gitMinor=${minor}"
        flags+=" -X ${pkg}.gitTreeState=clean"
        flags+=" -X ${pkg}.gitCommit="
        flags+=" -X ${pkg}.buildDate=${date}"
      done
      ;;
    kwok)
      # kwokctl derives the Kubernetes version it configures from KubeVersion;
      # make it match the control plane we build.
      local kube
      kube="$(module_version k8s k8s.io/kubernetes)"
      flags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${version#v}"
      flags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kube#v}"
      flags+=" -X sigs.k8s.io/kwok/pkg/consts.PreRelease=GA"
      ;;
    etcd|coredns) ;;
    *) die "unknown ldflags flavour ${flavour}" ;;
  esac
  printf '%s' "${flags}"
}

GO_ID="$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')"

stamp_for() {
  local name=$1 dir=$2 pkg=$3
  {
    printf '%s\n' "${name}" "${pkg}" "${GO_ID}"
    cat "${SELF}" "${TOOLS_DIR}/${dir}/go.mod" "${TOOLS_DIR}/${dir}/go.sum"
  } | sha256sum | cut -d' ' -f1
}

if [[ ${LIST} == 1 ]]; then
  for t in "${TOOLS[@]}"; do
    IFS='|' read -r name dir pkg vmod flavour <<<"${t}"
    wanted "${name}" || continue
    printf '%s %s %s %s\n' "${name}" "$(module_version "${dir}" "${vmod}")" "${pkg}" "test/tools/${dir}"
  done
  exit 0
fi

mkdir -p "${BIN_DIR}" "${STAMP_DIR}" "${TOOLS_CACHE}"

# install_from_cache NAME STAMP: put the cached build of NAME at STAMP into the
# bin dir (a hard link where the file systems allow, else a copy).
install_from_cache() {
  local cached="${TOOLS_CACHE}/$1-$2" out="${BIN_DIR}/$1"
  [[ -x "${cached}" && -f "${cached}.version" ]] || return 1
  rm -f "${out}"
  ln "${cached}" "${out}" 2>/dev/null || cp "${cached}" "${out}" || return 1
  printf '%s\n%s\n' "$2" "$(cat "${cached}.version")" >"${STAMP_DIR}/$1"
}

export CGO_ENABLED=0
total_start=$(date +%s)
built=0
for t in "${TOOLS[@]}"; do
  IFS='|' read -r name dir pkg vmod flavour <<<"${t}"
  wanted "${name}" || continue
  [[ -f "${TOOLS_DIR}/${dir}/go.mod" && -f "${TOOLS_DIR}/${dir}/go.sum" ]] \
    || die "missing ${TOOLS_DIR}/${dir}/go.mod or go.sum"

  out="${BIN_DIR}/${name}"
  stamp_file="${STAMP_DIR}/${name}"
  want_stamp="$(stamp_for "${name}" "${dir}" "${pkg}")"
  if [[ ${FORCE} == 0 && -x "${out}" && -f "${stamp_file}" ]] \
     && [[ "$(head -n1 "${stamp_file}")" == "${want_stamp}" ]]; then
    log "${name} $(sed -n 2p "${stamp_file}") is up to date"
    continue
  fi
  if [[ ${FORCE} == 0 ]] && install_from_cache "${name}" "${want_stamp}"; then
    log "${name} $(sed -n 2p "${stamp_file}") taken from ${TOOLS_CACHE}"
    continue
  fi

  version="$(module_version "${dir}" "${vmod}")" || die "cannot resolve version of ${vmod} in test/tools/${dir}"
  flags="$(ldflags_for "${flavour}" "${dir}" "${vmod}" "${version}")"
  log "building ${name} ${version} (${pkg}) ..."
  start=$(date +%s)
  tmp="${out}.tmp.$$"
  rm -f "${stamp_file}"
  if ! (cd "${TOOLS_DIR}/${dir}" && go build -mod=readonly -trimpath -ldflags="${flags}" -o "${tmp}" "${pkg}"); then
    rm -f "${tmp}"
    die "building ${name} ${version} FAILED after $(( $(date +%s) - start ))s"
  fi
  cached="${TOOLS_CACHE}/${name}-${want_stamp}"
  mv -f "${tmp}" "${cached}.tmp.$$"
  printf '%s\n' "${version}" >"${cached}.version"
  mv -f "${cached}.tmp.$$" "${cached}"
  # Older builds of this binary are of no further use.
  find "${TOOLS_CACHE}" -maxdepth 1 -name "${name}-*" ! -name "${name}-${want_stamp}*" -delete
  install_from_cache "${name}" "${want_stamp}" || die "installing ${name} from ${TOOLS_CACHE}"
  log "building ${name} ${version} ... done in $(( $(date +%s) - start ))s"
  built=$((built + 1))
done
log "all done in $(( $(date +%s) - total_start ))s (${built} built) -> ${BIN_DIR}"
