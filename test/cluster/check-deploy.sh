#!/usr/bin/env bash
# Checks that deploy/ is known to apply: renders the cluster-wide install
# (deploy/), the namespaced overlay (deploy/namespaced) and the drop-in overlay
# (deploy/statefulsets) with kubectl kustomize
# and applies each to the local cluster with a server-side dry run, so the API
# server validates every object (schemas, RBAC rules, the Deployment under the
# namespace's Pod Security level). Any error or warning fails.
# The namespaces are created for real first: a dry run of an object in a namespace
# that does not exist fails.
#
# Usage: test/cluster/check-deploy.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

deploy="${MSTS_REPO_ROOT}/deploy"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

k apply --server-side -f "${deploy}/namespace.yaml" >&2
k create namespace msts-classroom --dry-run=client -o yaml | k apply --server-side -f - >&2

for dir in "${deploy}" "${deploy}/namespaced" "${deploy}/statefulsets"; do
  name="${dir#"${MSTS_REPO_ROOT}/"}"
  k kustomize "${dir}" >"${work}/rendered.yaml" || msts_die "kubectl kustomize ${name} failed"
  n="$(grep -c '^kind:' "${work}/rendered.yaml")"
  if ! k apply --server-side --dry-run=server -f "${work}/rendered.yaml" >"${work}/out" 2>"${work}/err"; then
    cat "${work}/out" "${work}/err" >&2
    msts_die "${name} does not apply (server-side dry run)"
  fi
  if grep -i 'warning' "${work}/err" >&2; then
    msts_die "${name} applies with warnings (above)"
  fi
  msts_log "${name}: ${n} objects render and apply (server-side dry run), no warnings"
done
