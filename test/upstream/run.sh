#!/usr/bin/env bash
# Runs Kubernetes' own StatefulSet e2e specs (k8s.io/kubernetes v1.37.2,
# test/e2e/apps/statefulset.go, built into e2e-apps.test by
# test/tools/build-e2e.sh) against a StatefulSet controller, each spec in a
# process of its own under a time limit, so one that hangs costs its limit and
# no more. Specs named in the skip list are not run; every other one must pass,
# else the exit status is 1. Per-spec outcomes go to results.tsv in the output
# dir, one log per spec beside it; a table of them is printed at the end.
# Mode builtin is the baseline that checks the skip list instead: it runs every
# spec, listed or not, and fails if a listed spec passes there (the entry is
# wrong: kwok can run it) or an unlisted one does not (it belongs on the list).
#
# Usage: test/upstream/run.sh MODE
#   builtin          kube-controller-manager's own StatefulSet controller, on a
#                    fresh local cluster (up.sh), torn down afterwards
#   ministatefulset  bin/ministatefulset-controller --manage=statefulsets, with
#                    kube-controller-manager's StatefulSet controller off, on a
#                    fresh local cluster, torn down afterwards
#   external         whatever runs StatefulSets in the cluster of
#                    MSTS_UPSTREAM_KUBECONFIG (kind); nothing is started
# Env (besides those in lib.sh):
#   MSTS_UPSTREAM_FOCUS         extended regex over spec names (default: every
#                               '[sig-apps] StatefulSet' spec)
#   MSTS_UPSTREAM_SKIP          the skip list (default test/upstream/skip.txt;
#                               empty: none)
#   MSTS_UPSTREAM_SPEC_TIMEOUT  a spec's limit (default 4m); its cleanup gets 1m
#                               more and the process is killed 1m after that
#   MSTS_UPSTREAM_OUT           output dir (default .cache/upstream-e2e/MODE)
#   MSTS_UPSTREAM_KUBECONFIG    the cluster of mode external
#   MSTS_CONTROLLER_BIN         the controller (default bin/ministatefulset-controller)
#   MSTS_UPSTREAM_PROBE_PORT    its /readyz port on 127.0.0.1 (default 18083)
#   MSTS_SKIP_BUILD=1           do not build the cluster's binaries and e2e-apps.test
#
# The local cluster gets a default StorageClass whose volumes kube-controller-
# manager's hostPath provisioner makes and deletes (under /tmp/hostpath_pv), so
# that the specs with claim templates run instead of skipping.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

mode="${1:-}"
case "${mode}" in
  builtin | ministatefulset | external) ;;
  *) msts_die "usage: $0 builtin|ministatefulset|external (see the comment at the top)" ;;
esac
here="${MSTS_REPO_ROOT}/test/upstream"
focus="${MSTS_UPSTREAM_FOCUS:-^\[sig-apps\] StatefulSet }"
skip_file="${MSTS_UPSTREAM_SKIP-${here}/skip.txt}"
limit="${MSTS_UPSTREAM_SPEC_TIMEOUT:-4m}"
out="${MSTS_UPSTREAM_OUT:-${MSTS_REPO_ROOT}/.cache/upstream-e2e/${mode}}"
controller_bin="${MSTS_CONTROLLER_BIN:-${MSTS_REPO_ROOT}/bin/ministatefulset-controller}"
e2e="${MSTS_BIN_DIR}/e2e-apps.test"

[[ "${limit}" =~ ^([0-9]+)m$ ]] || msts_die "MSTS_UPSTREAM_SPEC_TIMEOUT must be whole minutes (4m), got '${limit}'"
minutes=${BASH_REMATCH[1]}

if [[ "${MSTS_SKIP_BUILD:-0}" != 1 ]]; then
  "${MSTS_REPO_ROOT}/test/tools/build.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl
  "${MSTS_REPO_ROOT}/test/tools/build-e2e.sh"
fi
[[ -x "${e2e}" ]] || msts_die "missing ${e2e}; run test/tools/build-e2e.sh"
[[ "${mode}" != ministatefulset || -x "${controller_bin}" ]] || msts_die "missing ${controller_bin}; run make build"

# skip_reason NAME: sets reason to what the skip list says of NAME (an entry is
# the exact name, or an extended regex that matches within it), or to nothing.
skip_patterns=() skip_reasons=()
if [[ -n "${skip_file}" ]]; then
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ -z "${line//[[:space:]]/}" || "${line}" == \#* ]] && continue
    [[ "${line}" == *" # "?* ]] || msts_die "${skip_file}: '${line}' has no ' # reason'"
    skip_patterns+=("${line%% # *}") skip_reasons+=("${line#* # }")
  done <"${skip_file}"
fi
skip_used=()
skip_reason() {
  local i
  reason=
  for i in "${!skip_patterns[@]}"; do
    # A name is rarely a valid regex ("[sig-apps]" is a bad range): grep's
    # complaint is dropped, and an entry that matches nothing is warned of below.
    if [[ "$1" == "${skip_patterns[i]}" ]] || grep -Eq -- "${skip_patterns[i]}" <<<"$1" 2>/dev/null; then
      skip_used[i]=1
      reason="${skip_reasons[i]}"
      return
    fi
  done
}

# The specs, by name, as --list-tests prints them ("  file:line: name").
mapfile -t specs < <("${e2e}" --list-tests 2>/dev/null | sed -n 's/^ *[^ ]*:[0-9]*: //p' | grep -E -- "${focus}" | sort)
(( ${#specs[@]} > 0 )) || msts_die "no spec of ${e2e} matches '${focus}'"

rm -rf "${out}"
mkdir -p "${out}/logs"
ctl=
finish() {
  if [[ -n "${ctl}" ]]; then kill -TERM "${ctl}" 2>/dev/null || true; wait "${ctl}" 2>/dev/null || true; fi
  [[ "${mode}" == external ]] || "${MSTS_REPO_ROOT}/test/cluster/down.sh"
}

kubeconfig="${MSTS_KUBECONFIG}"
if [[ "${mode}" == external ]]; then
  kubeconfig="${MSTS_UPSTREAM_KUBECONFIG:?mode external needs MSTS_UPSTREAM_KUBECONFIG}"
else
  kcm_args="enable-hostpath-provisioner=true"
  [[ "${mode}" == ministatefulset ]] && kcm_args+=" controllers=*,-statefulset-controller"
  trap finish EXIT
  MSTS_SKIP_BUILD=1 MSTS_KCM_ARGS="${kcm_args}" "${MSTS_REPO_ROOT}/test/cluster/up.sh"
  MSTS_PVS=0 "${MSTS_REPO_ROOT}/test/cluster/install.sh"
  k apply --server-side -f - >&2 <<'SC'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: upstream-e2e-hostpath
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
SC
  if [[ "${mode}" == ministatefulset ]]; then
    probe_port="${MSTS_UPSTREAM_PROBE_PORT:-18083}"
    "${controller_bin}" --manage=statefulsets --kubeconfig "${kubeconfig}" -v=2 \
      --health-probe-bind-address "127.0.0.1:${probe_port}" >"${out}/controller.log" 2>&1 &
    ctl=$!
    # Ready once it has checked that no other controller runs StatefulSets here.
    msts_wait_for 60 "the controller's /readyz on 127.0.0.1:${probe_port}" msts_http_ok "${probe_port}" /readyz \
      || msts_die "the controller did not become ready; its log: ${out}/controller.log"
    msts_log "controller running (pid ${ctl}); its log: ${out}/controller.log"
  fi
fi

# outcome LOG EXIT: pass, fail or skipped-by-suite, a tab, and a one-line reason,
# from Ginkgo's output: its summary ("Ran 1 of 758 Specs"), the [SKIPPED],
# [FAILED] or [TIMEDOUT] report and the last step the spec itself took.
outcome() {
  local log=$1 rc=$2 ran why step
  ran="$(sed -n 's/^Ran \([0-9]*\) of [0-9]* Specs.*/\1/p' "${log}" | tail -n1)"
  step="$(grep '^  STEP: ' "${log}" | grep -vE 'STEP: (dump namespace|Collecting events|Found [0-9]+ events|Destroying namespace|Deleting all statefulset)' \
    | tail -n1 | sed 's/^  STEP: //; s/ @ [0-9/]* [0-9:.]*$//')"
  if (( rc == 124 || rc == 137 )); then
    printf 'fail\tkilled after %s, at step: %s' "$((minutes + 2))m" "${step}"
  elif [[ ${rc} == 0 && "${ran}" == 1 ]]; then
    printf 'pass\t'
  elif [[ ${rc} == 0 && "${ran}" == 0 ]] && why="$(grep -m1 -A1 '^  \[SKIPPED\]' "${log}" | tail -n1)"; then
    printf 'skipped-by-suite\t%s' "$(sed 's/^ *//' <<<"${why}")"
  elif [[ ${rc} == 0 ]]; then
    printf 'fail\tthe focus matched no spec (the name changed?)'
  elif grep -q '^  \[TIMEDOUT\] A spec timeout occurred' "${log}"; then
    why="$(grep -m1 -A1 'the following failure was recorded in the timedout node' "${log}" | sed -n '2s/^ *//p')"
    printf 'fail\ttimed out after %s, at step: %s%s' "${limit}" "${step}" "${why:+ (then: ${why})}"
  else
    why="$(grep -E '^  \[(FAILED|PANICKED)\] ' "${log}" | grep -vE '^  \[FAILED\] in \[' | head -n1 | sed 's/^ *//')"
    printf 'fail\t%s, at step: %s' "${why:-exit status ${rc}}" "${step}"
  fi | cut -c1-400
}

results="${out}/results.tsv"
wrong=()
printf 'outcome\tseconds\tspec\treason\n' >"${results}"
start=$(date +%s)
n=0
for spec in "${specs[@]}"; do
  n=$((n + 1))
  log="${out}/logs/$(printf '%02d' "${n}").log"
  skip_reason "${spec}"
  listed="${reason}"
  if [[ -n "${reason}" && "${mode}" != builtin ]]; then
    printf 'skipped-by-list\t0\t%s\t%s\n' "${spec}" "${reason}" >>"${results}"
    msts_log "[${n}/${#specs[@]}] skipped-by-list: ${spec}"
    continue
  fi
  [[ -z "${ctl}" ]] || kill -0 "${ctl}" 2>/dev/null || msts_die "the controller has exited; its log: ${out}/controller.log"
  re="$(sed 's/[][\\.*^$(){}?+|]/\\&/g' <<<"${spec}")"
  t0=$(date +%s)
  rc=0
  printf '%s\n' "${spec}" >"${log}"
  timeout --kill-after=10s "$((minutes + 2))m" "${e2e}" \
    --kubeconfig="${kubeconfig}" --provider=skeleton --kubectl-path="${MSTS_BIN_DIR}/kubectl" \
    --max-nodes-to-gather-from=0 --spec-timeout="${limit}" \
    --ginkgo.focus=" ${re}\$" --ginkgo.timeout="$((minutes + 1))m" --ginkgo.grace-period=30s \
    --ginkgo.v --ginkgo.no-color >>"${log}" 2>&1 </dev/null || rc=$?
  secs=$(( $(date +%s) - t0 ))
  printf '[run.sh] exit status %s after %ss\n' "${rc}" "${secs}" >>"${log}"
  IFS=$'\t' read -r result why <<<"$(outcome "${log}" "${rc}")"
  printf '%s\t%s\t%s\t%s\n' "${result}" "${secs}" "${spec}" "${why}" >>"${results}"
  msts_log "[${n}/${#specs[@]}] ${result} in ${secs}s: ${spec}${listed:+ (listed)}"
  if [[ "${mode}" == builtin && -n "${listed}" && "${result}" == pass ]]; then
    wrong+=("listed, but passes here: remove it from ${skip_file}: ${spec}")
  elif [[ "${mode}" == builtin && -z "${listed}" && "${result}" != pass ]]; then
    wrong+=("not listed, but ${result} here: list it with why, or find what the cluster lacks: ${spec}")
  fi
done

for i in "${!skip_patterns[@]}"; do
  [[ -n "${skip_used[i]:-}" ]] || msts_log "warning: skip entry matches no spec of the focus: ${skip_patterns[i]}"
done
printf '\n%-16s %5s  %s\n' outcome secs spec
tail -n +2 "${results}" | while IFS=$'\t' read -r result secs spec why; do
  printf '%-16s %5s  %s\n' "${result}" "${secs}" "${spec}"
  [[ -z "${why}" ]] || printf '%-16s %5s    %s\n' "" "" "${why}"
done
count() { tail -n +2 "${results}" | cut -f1 | grep -cx "$1" || true; }
printf '\n%s: %d specs in %ds: %d pass, %d fail, %d skipped-by-suite, %d skipped-by-list; results in %s\n' \
  "${mode}" "${#specs[@]}" "$(( $(date +%s) - start ))" "$(count pass)" "$(count fail)" \
  "$(count skipped-by-suite)" "$(count skipped-by-list)" "${results}"
if [[ "${mode}" == builtin ]]; then
  # The baseline: the skip list must be exactly what this cluster cannot run.
  for w in "${wrong[@]}"; do msts_log "skip list: ${w}"; done
  (( ${#wrong[@]} == 0 )) && msts_log "skip list checked: its every entry fails here, every other spec passes"
  (( ${#wrong[@]} == 0 ))
else
  # A spec the suite skipped was not tested either: it belongs in the skip list, with its reason.
  (( $(count fail) + $(count skipped-by-suite) == 0 ))
fi
