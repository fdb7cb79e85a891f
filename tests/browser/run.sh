#!/usr/bin/env bash
# run.sh: the browser tests (issue 6). Starts its own tipd on a database of
# its own (created through TIPD_TEST_CONNINFO, as the e2e tests do) with the
# repository's units and rules, installs playwright-core with `npm ci` into
# the build folder (never a browser: Debian's /usr/bin/chromium is used),
# and runs pages.test.js, which drives the pages in headless Chromium and
# saves a screenshot of each page under $SHOTS.
#
# Set by CTest: TIPD_BIN, SHOTS, NODE_WORK. Set by ./dev test:
# TIPD_TEST_CONNINFO. Any missing piece fails the test; nothing is skipped.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -n "${TIPD_TEST_CONNINFO:-}" ] || fail "TIPD_TEST_CONNINFO is not set (run the suite with ./dev test)"
[ -x "${TIPD_BIN:-}" ] || fail "TIPD_BIN is not set to the tipd binary"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing: apt-get install chromium (./dev test installs it)"
command -v node >/dev/null || fail "node is missing (./dev test installs nodejs and npm)"
command -v npm >/dev/null || fail "npm is missing"
SHOTS=${SHOTS:-$ROOT/build/asan/tests/screenshots}
NODE_WORK=${NODE_WORK:-$ROOT/build/asan/tests/browser}

WORK=$(mktemp -d /tmp/tipd-browser.XXXXXX)
DB="tipd_browser_$$"
TIPD_PID=""
psql_admin() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$TIPD_TEST_CONNINFO" "$@"; }
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -n "${PORT:-}" ] && command -v ss >/dev/null; then
        # Who listens on the port: a refused connection was seen twice
        # while tipd ran: is it still listening, and alone?
        echo "--- listeners on port $PORT:" >&2
        ss -ltnpH "sport = :$PORT" >&2 || true
    fi
    if [ -n "$TIPD_PID" ]; then
        kill -TERM "$TIPD_PID" 2>/dev/null || true
        wait "$TIPD_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$WORK/tipd.log" ]; then
        echo "--- last lines of tipd's log:" >&2
        tail -n 30 "$WORK/tipd.log" >&2
    fi
    psql_admin -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

# playwright-core, exactly as package-lock.json pins it, into the build
# folder; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps it from fetching a browser.
# 1.61 is the newest that runs on Node 18 (Debian 12's nodejs) and drives
# Debian's Chromium 156.
mkdir -p "$NODE_WORK" "$SHOTS"
if ! cmp -s "$HERE/package-lock.json" "$NODE_WORK/package-lock.json" ||
    [ ! -d "$NODE_WORK/node_modules/playwright-core" ]; then
    cp "$HERE/package.json" "$HERE/package-lock.json" "$NODE_WORK/"
    (cd "$NODE_WORK" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
        fail "npm ci of tests/browser failed"
fi

# The test's database and a tipd serving it, with the repository's units,
# rules and calendar (triage routes a 正科级 report from 410105 to unit
# 410105's default queue).
psql_admin -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
base=${TIPD_TEST_CONNINFO//dbname=postgres/}
# As deployed: the owner migrates and administers, tipd serves as tipd_app.
export TIPD_OWNER_DATABASE="$base dbname=$DB"
export TIPD_DATABASE
TIPD_DATABASE="$(printf '%s' "$base" | sed 's/\buser=[^ ]*/user=tipd_app/') dbname=$DB"
export TIPD_RECEIPT_KEY
TIPD_RECEIPT_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
unset TIPD_CONFIG
"$TIPD_BIN" migrate >"$WORK/setup.log" 2>&1 || fail "tipd migrate: $(tail -3 "$WORK/setup.log")"
"$TIPD_BIN" units import "$ROOT/deploy/rules.json" >>"$WORK/setup.log" 2>&1 ||
    fail "tipd units import: $(tail -3 "$WORK/setup.log")"
STAFF_TOKEN=$("$TIPD_BIN" token create --unit 410105 --role staff --name 浏览器测试 2>>"$WORK/setup.log" |
    grep -o 'tipd_[0-9a-f]\{64\}' | head -n1) || true
[ -n "$STAFF_TOKEN" ] || fail "tipd token create printed no token: $(tail -3 "$WORK/setup.log")"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000)))
"$TIPD_BIN" serve --set listen_port="$PORT" --set workers=2 \
    --set rate_limit_per_minute=0 --set rules_file="$ROOT/deploy/rules.json" \
    --set holidays_file="$ROOT/deploy/holidays.txt" \
    --set triage_poll_interval_ms=50 --set log_requests=1 >"$WORK/tipd.log" 2>&1 &
TIPD_PID=$!
for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$TIPD_PID" 2>/dev/null || fail "tipd exited during start-up"
    sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || fail "tipd did not become ready"

export TIPD_URL="http://127.0.0.1:$PORT" STAFF_TOKEN SHOTS
NODE_PATH="$NODE_WORK/node_modules" node "$HERE/pages.test.js"
