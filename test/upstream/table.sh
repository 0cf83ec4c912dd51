#!/usr/bin/env bash
# Prints the Markdown table of docs/upstream-e2e.md from two runs of run.sh:
# one row a spec, its outcome and seconds under kube-controller-manager's own
# controller (mode builtin) and under MiniStatefulSet's drop-in mode, and the
# reason the run gave (the skip list's, or what failed).
#
# Usage: test/upstream/table.sh BUILTIN_RESULTS MINISTATEFULSET_RESULTS
#   (default .cache/upstream-e2e/builtin/results.tsv and .../ministatefulset/results.tsv)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
base="${1:-${root}/.cache/upstream-e2e/builtin/results.tsv}"
ours="${2:-${root}/.cache/upstream-e2e/ministatefulset/results.tsv}"
for f in "${base}" "${ours}"; do
  [[ -f "${f}" ]] || { printf 'table.sh: no %s; run test/upstream/run.sh first\n' "${f}" >&2; exit 1; }
done

# Columns of a results.tsv: outcome, seconds, spec, reason. A "|" in a cell
# would end it, so it is escaped.
awk -F'\t' '
  function cell(s) { gsub(/\|/, "\\|", s); return s }
  function shown(o, secs) { return o == "skipped-by-list" ? "skipped (list)" : o " (" secs " s)" }
  FNR == 1 { file++; next }
  file == 1 { bo[$3] = $1; bs[$3] = $2; bw[$3] = $4; next }
  {
    name = $3
    sub(/^\[sig-apps\] StatefulSet /, "", name)
    conf = index($3, "[Conformance]") ? "yes" : ""
    base = ($3 in bo) ? shown(bo[$3], bs[$3]) : "not run"
    # Why it is listed; else what failed, here or in the baseline.
    why = $1 != "pass" ? $4 : (($3 in bo) && bo[$3] != "pass" ? "baseline: " bw[$3] : "")
    printf "| %s | %s | %s | %s | %s |\n", cell(name), conf, base, shown($1, $2), cell(why)
  }
' "${base}" "${ours}" | {
  printf '| spec (`[sig-apps] StatefulSet ...`) | Conformance | kube-controller-manager | MiniStatefulSet drop-in | why |\n'
  printf '| --- | --- | --- | --- | --- |\n'
  cat
}
