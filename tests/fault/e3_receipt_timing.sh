#!/usr/bin/env bash
# E3: a receipt lookup takes the same time whether the code is valid,
# unknown or malformed, so timing cannot tell an attacker which codes exist.
# By construction (server/status.c): every code, even one that is not a
# code at all, is reduced to HMAC(key, code) and looked up by that hash with
# the same statement; the comparison happens on an HMAC the asker cannot
# steer, so no prefix of a real code answers faster.
#
# The run: 40 reports for their receipts, then E3_LOOKUPS (default 1,500)
# lookups over one keep-alive connection, valid, unknown and malformed codes
# shuffled together; the medians of the three must be within 0.5 ms or 20 %
# of each other, and every answer 200 (valid) or 404 (others).
. "$(dirname "$0")/lib.sh"
LOOKUPS=${E3_LOOKUPS:-1500}
pg_init
tipd_start
burst --prefix e3 --count 40 --conns 4 >"$WORK/burst.log"
awk '$2 == 201 { print $3 }' "$WORK/burst.log" >"$WORK/valid"
[ "$(wc -l <"$WORK/valid")" -eq 40 ] || fail "the 40 reports were not all stored"

# One curl config of LOOKUPS transfers; curl keeps the connection alive
# across `next` and writes each transfer's kind, status and total time.
python3 - "$LOOKUPS" "$WORK/valid" "http://127.0.0.1:$TIPD_PORT/api/v1/status" \
    >"$WORK/curl.conf" <<'PY'
import random, sys
n, valid, url = int(sys.argv[1]), open(sys.argv[2]).read().split(), sys.argv[3]
alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def unknown():
    c = "".join(random.choice(alphabet) for _ in range(20))
    return "-".join(c[i:i + 5] for i in range(0, 20, 5))
kinds = ["valid", "unknown", "malformed"] * (n // 3)
random.shuffle(kinds)
for i, k in enumerate(kinds):
    if i > 0:
        print("next")
    code = {"valid": lambda: random.choice(valid), "unknown": unknown,
            "malformed": lambda: "not a code " + str(random.random())}[k]()
    print(f'url = "{url}"\nheader = "Content-Type: application/json"')
    print(f'data = "{{\\"receipt\\":\\"{code}\\"}}"\noutput = "/dev/null"')
    print(f'write-out = "{k} %{{http_code}} %{{time_total}}\\n"')
PY
curl -s -K "$WORK/curl.conf" >"$WORK/times" || fail "curl failed"
[ "$(wc -l <"$WORK/times")" -ge $((LOOKUPS / 3 * 3)) ] || fail "not every lookup was answered"
bad=$(awk '($1 == "valid" && $2 != 200) || ($1 != "valid" && $2 != 404)' "$WORK/times" | head -3)
[ -z "$bad" ] || fail "unexpected answers: $bad"
# The first 30 lookups warm the connection and the plan; they are left out.
summary=$(tail -n +31 "$WORK/times" | sort -k1,1 -k3,3n | awk '
    { t[$1, ++n[$1]] = $3 * 1000 }
    END {
        for (k in n) {
            m = t[k, int((n[k] + 1) / 2)]; p = t[k, int(n[k] * 0.9)]
            printf "%s %d %.3f %.3f\n", k, n[k], m, p
        }
    }' | sort)
echo "$summary" | awk '{ printf "%s: %d lookups, median %.3f ms, p90 %.3f ms\n", $1, $2, $3, $4 }'
echo "$summary" | awk '
    { m[NR] = $3 }
    END {
        lo = m[1]; hi = m[1]
        for (i = 2; i <= NR; i++) { if (m[i] < lo) lo = m[i]; if (m[i] > hi) hi = m[i] }
        d = hi - lo
        printf "spread of the medians: %.3f ms (%.1f %% of the lowest)\n", d, 100 * d / lo
        exit !(d <= 0.5 || d <= 0.2 * lo)
    }' || fail "the medians differ by more than 0.5 ms and 20 %"
echo "E3 ok"
