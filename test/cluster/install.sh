#!/usr/bin/env bash
# Installs what the e2e suite and `make run` need into the cluster up.sh made:
# the CRD and admission policy from deploy/, and a pool of static PersistentVolumes
# (storageClassName "") that claims bind to through the real PV controller.
#
# Usage: test/cluster/install.sh
# Env (besides those in lib.sh):
#   MSTS_PVS   number of static PVs to keep in the pool (default 400: the compare runner alone spends about 90, since Retain keeps a released volume from binding again)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

deploy="${MSTS_REPO_ROOT}/deploy"
k apply --server-side --force-conflicts -f "${deploy}/crd/" >&2
msts_wait_for 60 "CRD established" k wait --for=condition=Established --timeout=5s \
  crd/ministatefulsets.apps.ministatefulset.dev || msts_die "CRD not established"
k apply --server-side --force-conflicts -f "${deploy}/validation.yaml" >&2

# Two StorageClasses for growing claims (beyond apps/v1): msts-expandable lets a
# bound claim's request be raised (the API server's resize admission checks
# allowVolumeExpansion), msts-fixed does not. Both are static: their volumes are the
# PVs below, bound by the real PV controller; nothing resizes them, so a raised claim
# keeps its capacity until something plays the resizer (the e2e test does).
k apply --server-side -f - >&2 <<'SC'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: msts-expandable
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: msts-fixed
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
allowVolumeExpansion: false
SC

n="${MSTS_PVS:-400}"
if (( n == 0 )); then
  msts_log "CRD and admission policy installed (no PVs asked for)"
  exit 0
fi
# pv NAME CLASS: a static 1Gi hostPath volume of the class ("" for none), kept when
# its claim goes.
pv() {
  cat <<PV
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $1
  labels:
    msts.test/pool: "true"
spec:
  storageClassName: "$2"
  capacity:
    storage: 1Gi
  accessModes: ["ReadWriteOnce"]
  persistentVolumeReclaimPolicy: Retain
  hostPath:
    path: /tmp/$1
PV
}
{
  for i in $(seq 1 "${n}"); do pv "msts-pv-${i}" ""; done
  # volumes of the two classes above, for lessons and `make run`
  for class in msts-expandable msts-fixed; do
    for i in $(seq 1 12); do pv "${class}-pv-${i}" "${class}"; done
  done
} | k apply --server-side -f - >/dev/null
msts_log "CRD, admission policy, StorageClasses msts-expandable and msts-fixed, ${n} static PVs and 12 of each class installed"
