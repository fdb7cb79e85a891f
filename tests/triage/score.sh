#!/usr/bin/env bash
# The triage quality gate (issue 4): `tipd triage` over the labelled dev
# corpus (tests/corpus/dev, a copy of shared/corpus/dev), scored by
# triage-score with the thresholds of issue 4's "Done when". Prints the
# scores and how long the offline run took.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
TIPD_BIN=${TIPD_BIN:?TIPD_BIN must name the tipd binary}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/tipd-triage-score.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

start=$(date +%s%N)
"$TIPD_BIN" triage --rules "$ROOT/deploy/rules.json" \
    <"$ROOT/tests/corpus/dev/reports.jsonl" >"$OUT/decisions.jsonl"
end=$(date +%s%N)
reports=$(wc -l <"$ROOT/tests/corpus/dev/reports.jsonl")
decisions=$(wc -l <"$OUT/decisions.jsonl")
echo "tipd triage: $decisions decisions for $reports reports in $(((end - start) / 1000000)) ms"
[ "$decisions" -eq "$reports" ] || { echo "FAIL: one decision per report expected" >&2; exit 1; }
python3 "$HERE/triage-score" "$ROOT/tests/corpus/dev/labels.jsonl" "$OUT/decisions.jsonl" \
    --min-dup-f1 0.95 --min-accused-f1 0.97 --min-unit-acc 0.99 --min-category-acc 0.99

# The command's refusals: a line that is no report stops the run naming its
# line (exit 1, nothing decided is printed for it); no rules is a usage
# error (exit 2); a broken rules file names file and line (exit 1).
bad="$OUT/bad.jsonl"
printf '%s\n' '{"id":"1","channel":"web","content":"x"}' '{"id":2}' >"$bad"
rc=0
"$TIPD_BIN" triage --rules "$ROOT/deploy/rules.json" <"$bad" >"$OUT/bad.out" 2>"$OUT/bad.err" || rc=$?
if [ "$rc" != 1 ] || ! grep -q 'stdin:2: "id" must be a string' "$OUT/bad.err" || [ -s "$OUT/bad.out" ]; then
    echo "FAIL: a bad line: exit $rc, $(cat "$OUT/bad.err")" >&2
    exit 1
fi
rc=0
"$TIPD_BIN" triage </dev/null >/dev/null 2>"$OUT/norules.err" || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: no --rules: exit $rc" >&2; exit 1; }
printf '{\n "version": 2\n}\n' >"$OUT/rules.json"
rc=0
"$TIPD_BIN" triage --rules "$OUT/rules.json" </dev/null >/dev/null 2>"$OUT/rules.err" || rc=$?
if [ "$rc" != 1 ] || ! grep -Eq 'rules\.json:[0-9]+: ' "$OUT/rules.err"; then
    echo "FAIL: a broken rules file: exit $rc, $(cat "$OUT/rules.err")" >&2
    exit 1
fi
echo "tipd triage: bad input refused (line named, exit 1; no rules, exit 2)"
