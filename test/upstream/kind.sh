#!/usr/bin/env bash
# Makes the kind cluster of `make kind-up` run MiniStatefulSet's drop-in mode,
# then runs every upstream StatefulSet e2e spec against it, no skip list (kind
# has real kubelets: exec, probes and evictions work). `make kind-upstream-e2e`
# calls it after loading the controller's image into kind.
#
#   1. kube-controller-manager's StatefulSet controller off: kubeadm's static pod
#      manifest gets -statefulset-controller appended to its --controllers, and
#      the kubelet restarts it (the mirror pod shows the new flag).
#   2. deploy/statefulsets applied: the controller, in --manage=statefulsets,
#      refuses to become ready while another controller still writes
#      StatefulSets' status, so its rollout finishing proves step 1 took.
#   3. test/upstream/run.sh external, with MSTS_UPSTREAM_SKIP empty.
#
# Usage: test/upstream/kind.sh KIND_CLUSTER KUBECONFIG
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
cluster="${1:?usage: $0 KIND_CLUSTER KUBECONFIG}"
kubeconfig="${2:?usage: $0 KIND_CLUSTER KUBECONFIG}"
# lib.sh's k talks to the cluster of MSTS_KUBECONFIG: here, kind's.
MSTS_KUBECONFIG="${kubeconfig}"
node="${cluster}-control-plane"
manifest=/etc/kubernetes/manifests/kube-controller-manager.yaml

docker exec "${node}" grep -q -e '--controllers=' "${manifest}" \
  || msts_die "${node}:${manifest} has no --controllers flag to change; is this a kind cluster?"
if ! docker exec "${node}" grep -q -e '-statefulset-controller' "${manifest}"; then
  # Edited beside it and moved in, so the kubelet never reads half a file.
  docker exec "${node}" sh -c "sed -E 's/^( *- --controllers=.*[^ ])\$/\\1,-statefulset-controller/' ${manifest} >/tmp/kcm.yaml && mv /tmp/kcm.yaml ${manifest}"
  msts_log "kube-controller-manager: -statefulset-controller added to --controllers"
fi
# The mirror pod: Ready, and its command has the new flag.
kcm_restarted() {
  k -n kube-system get pod "kube-controller-manager-${node}" 2>/dev/null \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.containers[0].command}' \
    | grep -q -e '^True .*-statefulset-controller'
}
msts_wait_for 180 "kube-controller-manager to restart without its StatefulSet controller" kcm_restarted \
  || msts_die "kube-controller-manager did not come back with -statefulset-controller; see: docker exec ${node} crictl ps -a"

k apply --server-side -f "${MSTS_REPO_ROOT}/deploy/namespace.yaml"
k apply --server-side -k "${MSTS_REPO_ROOT}/deploy/statefulsets/"
# The image of make kind-deploy may have started the controller in its default
# mode before: the patched Deployment rolls it to the drop-in mode.
k -n ministatefulset-system rollout status deploy/ministatefulset-controller --timeout=180s \
  || msts_die "the drop-in controller did not become ready; its log: kubectl -n ministatefulset-system logs deploy/ministatefulset-controller"

MSTS_UPSTREAM_SKIP= MSTS_UPSTREAM_KUBECONFIG="${kubeconfig}" "${MSTS_REPO_ROOT}/test/upstream/run.sh" external
