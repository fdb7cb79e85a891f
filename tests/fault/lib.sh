# lib.sh: what every fault script shares (sourced, not run).
#
# Each script gets a private PostgreSQL cluster of its own (it stops,
# pauses and kills it, which the shared test cluster must never suffer), a
# tipd on a free port, the burst client, and the checker that joins burst
# logs against the database. Set by CTest: TIPD_BIN, BURST.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/tipd-fault.XXXXXX)
chmod 755 "$WORK"
TIPD_PID=""
PG_PORT=""
TIPD_PORT=""
export TIPD_RECEIPT_KEY
TIPD_RECEIPT_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

fail() {
    echo "FAIL: $*" >&2
    [ -f "$WORK/tipd.log" ] && tail -20 "$WORK/tipd.log" >&2
    exit 1
}

cleanup() {
    [ -n "$TIPD_PID" ] && kill -9 "$TIPD_PID" 2>/dev/null || true
    if [ -d "$WORK/pg" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

pg_init() {
    PG_PORT=$(free_port)
    [ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
    as_pg "$PG_BIN/initdb" -D "$WORK/pg" --auth=trust -U postgres -E UTF8 \
        --no-locale >/dev/null
    cat >>"$WORK/pg/postgresql.conf" <<CONF
port = $PG_PORT
unix_socket_directories = '$WORK'
listen_addresses = ''
max_connections = 100
CONF
    pg_start
    psql -X -q -h "$WORK" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE ROLE tipd LOGIN" -c "CREATE ROLE tipd_staff LOGIN" \
        -c "CREATE ROLE tipd_app LOGIN" \
        -c "CREATE DATABASE tipd OWNER tipd" >/dev/null
    # As deployed: tipd serve as tipd_app, migrations as the owner.
    export TIPD_DATABASE="host=$WORK port=$PG_PORT dbname=tipd user=tipd_app"
    export TIPD_OWNER_DATABASE="host=$WORK port=$PG_PORT dbname=tipd user=tipd"
    "$TIPD_BIN" migrate >/dev/null 2>&1 || fail "tipd migrate"
}

pg_start() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -w -t 60 -l "$WORK/pg.log" start >/dev/null; }
pg_stop_immediate() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null; }
psql_su() { psql -X -q -h "$WORK" -p "$PG_PORT" -U postgres -d tipd -v ON_ERROR_STOP=1 "$@"; }
sql() { psql -X -At -h "$WORK" -p "$PG_PORT" -U postgres -d tipd -c "$1"; }

# tipd_start [--set k=v ...]: serve on a fresh port; wait for /readyz.
tipd_start() {
    TIPD_PORT=${TIPD_PORT:-$(free_port)}
    "$TIPD_BIN" serve --set listen_port="$TIPD_PORT" --set workers=2 \
        --set rate_limit_per_minute=0 "$@" \
        >>"$WORK/tipd.log" 2>&1 &
    TIPD_PID=$!
    for _ in $(seq 200); do
        if curl -sf "http://127.0.0.1:$TIPD_PORT/readyz" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    fail "tipd did not become ready"
}

# burst ARGS...: the burst client against this tipd.
burst() { "$BURST" --port "$TIPD_PORT" "$@"; }

# unanswered LOG...: keys whose every answer was not 201 (to retry).
unanswered() {
    awk '{ if ($2 == 201) ok[$1] = 1; else seen[$1] = 1 }
         END { for (k in seen) if (!(k in ok)) print k }' "$@"
}

# check_log PREFIX EXPECTED LOG...: the join. Every key answered 201 must
# have exactly one row; keys stored = EXPECTED; all 201 answers for a key
# carry one receipt; statuses only 201, 503 or 0 (connection failed), or
# those of CHECK_STATUSES (a proxy in front adds its own 502 and 504).
CHECK_STATUSES=${CHECK_STATUSES:-"201 503 0"}
check_log() {
    local prefix=$1 expected=$2
    shift 2
    local bad
    bad=$(awk -v ok="$CHECK_STATUSES" \
        'BEGIN { n = split(ok, a, " "); for (i = 1; i <= n; i++) allowed[a[i]] = 1 }
         !($2 in allowed)' "$@" | head -3)
    [ -z "$bad" ] || fail "answers other than $CHECK_STATUSES (0: connection error): $bad"
    awk '$2 == 201 { if (($1 in r) && r[$1] != $3) { print $1; exit 1 } r[$1] = $3 }' "$@" >/dev/null ||
        fail "a key was answered with two different receipts"
    awk '$2 == 201 { print $1 }' "$@" | sort -u >"$WORK/acked"
    sql "SELECT key FROM idempotency_keys WHERE scope = 'web' AND key LIKE '$prefix-%'" |
        sort -u >"$WORK/stored"
    local missing
    missing=$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)
    local acked stored rows dup
    acked=$(wc -l <"$WORK/acked")
    stored=$(wc -l <"$WORK/stored")
    rows=$(sql "SELECT count(*) FROM reports WHERE content LIKE '%$prefix-%'")
    dup=$(sql "SELECT count(*) - count(DISTINCT content) FROM reports WHERE content LIKE '%$prefix-%'")
    echo "acked=$acked stored=$stored rows=$rows acked_but_missing=$missing duplicates=$dup expected=$expected"
    [ "$missing" -eq 0 ] || fail "$missing reports answered 201 are missing"
    [ "$dup" -eq 0 ] || fail "$dup reports stored twice"
    [ "$rows" -eq "$stored" ] || fail "rows ($rows) differ from stored keys ($stored)"
    [ "$stored" -eq "$expected" ] || fail "stored $stored of $expected"
}

# retry_until_done PREFIX LOG: resend unanswered keys until all are 201.
retry_until_done() {
    local prefix=$1 log=$2
    for round in 1 2 3 4 5 6; do
        unanswered "$log" >"$WORK/retry"
        [ -s "$WORK/retry" ] || return 0
        echo "retry round $round: $(wc -l <"$WORK/retry") keys"
        burst --keys "$WORK/retry" --conns 8 >>"$log"
    done
    unanswered "$log" >"$WORK/retry"
    [ -s "$WORK/retry" ] && fail "$(wc -l <"$WORK/retry") keys never answered 201"
    return 0
}
