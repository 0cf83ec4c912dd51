#!/usr/bin/env bash
# Builds e2e-apps.test, Kubernetes' own apps e2e specs (module test/tools/e2e),
# into the bin dir the way build.sh builds the cluster's binaries: the same
# flags, stamp file and MSTS_TOOLS_CACHE, so a fresh clone links it in.
#
# Usage: test/tools/build-e2e.sh [--force] [--list]
# Env: MSTS_BIN_DIR, MSTS_TOOLS_CACHE, as for build.sh.
#
# build.sh's bytes are part of every cluster binary's stamp, so a new row there
# would rebuild them all. Instead this script runs build.sh's own code with two
# of its definitions changed: TOOLS (this binary alone) and stamp_for, whose
# hash here also covers build.sh and the module's Go files (the program is
# ours, not a pinned upstream package), so a change to either rebuilds it.
#
# The binary is about 89 MB. It took 92 s on 2 cores (2026-12-02) once the
# cluster's binaries were built (they share most packages through the Go build
# cache), and longer from cold caches.
# test/tools/README.md says more; test/upstream/run.sh calls this script.
set -euo pipefail

TOOLS=("e2e-apps.test|e2e|ministatefulset.dev/test/tools/e2e|k8s.io/kubernetes|k8s")

# build.sh's stamp (name, package, Go version, this script, go.mod, go.sum) and
# what it leaves out for this binary: build.sh itself and the program's source.
stamp_for() {
  { build_sh_stamp_for "$@"; cat "${TOOLS_DIR}/build.sh" "${TOOLS_DIR}/$2/"*.go; } | sha256sum | cut -d' ' -f1
}

# build.sh with its TOOLS left out and its stamp_for renamed. Run here, not in a
# child, so that its BASH_SOURCE is this file: TOOLS_DIR is test/tools, SELF
# this script.
build_sh="$(dirname "${BASH_SOURCE[0]}")/build.sh"
code="$(sed -e '/^TOOLS=($/,/^)$/d' -e 's/^stamp_for() {$/build_sh_stamp_for() {/' "${build_sh}")"
if [[ "$(grep -c -e '^TOOLS=($' -e '^stamp_for() {$' "${build_sh}")" != 2 ]] || grep -q '^TOOLS=' <<<"${code}"; then
  printf '[build-e2e.sh] ERROR: %s no longer has the TOOLS=( ... ) and stamp_for() { lines this script replaces\n' "${build_sh}" >&2
  exit 1
fi
eval "${code}"
