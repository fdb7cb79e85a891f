#!/usr/bin/env bash
# The fault suite's checker must see a loss when there is one
# (spec/reliability.md, preamble): A2 run against a tipd built to
# acknowledge reports before COMMIT (TIPD_FAULT_ACK_BEFORE_COMMIT; CTest
# gives its path as TIPD_BIN) must fail with acknowledged reports missing.
# A batch is almost always in flight when PostgreSQL is stopped; the run is
# tried up to three times in case one stop fell between batches.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd -P)
for attempt in 1 2 3; do
    out=$(A2_REPORTS=${A2_REPORTS:-5000} "$HERE/a2_pg_restart.sh" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q "answered 201 are missing"; then
        printf '%s\n' "$out" | grep -E "acked=|FAIL" | head -n 3
        echo "checker_sees_loss ok: the broken build's loss was reported (attempt $attempt)"
        exit 0
    fi
    echo "attempt $attempt: no loss reported (rc $rc):"
    printf '%s\n' "$out" | tail -n 5
done
echo "FAIL: the checker did not see the loss of a tipd that acknowledges before COMMIT" >&2
exit 1
