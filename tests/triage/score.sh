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
