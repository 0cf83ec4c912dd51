#!/usr/bin/env bash
# Tears down the e2e cluster started by up.sh (stops etcd, the control plane
# and kwok, and CoreDNS if up.sh started it; deletes the cluster's work dir
# and kubeconfig).
#
# Usage: test/cluster/down.sh
# Env (besides those in lib.sh):
#   MSTS_CLUSTER_PURGE=1   also remove the whole ${MSTS_CLUSTER_DIR}
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

msts_stop_coredns
if [[ -x "${MSTS_BIN_DIR}/kwokctl" ]] && msts_cluster_exists; then
  msts_log "deleting cluster ${MSTS_CLUSTER_NAME}"
  kwokctl delete cluster --kubeconfig "${MSTS_KUBECONFIG}" >&2
else
  msts_log "no cluster ${MSTS_CLUSTER_NAME} to delete"
fi
rm -f "${MSTS_KUBECONFIG}" "${MSTS_CLUSTER_DIR}/env"
if [[ "${MSTS_CLUSTER_PURGE:-0}" == 1 ]]; then
  rm -rf "${MSTS_CLUSTER_DIR}"
fi
