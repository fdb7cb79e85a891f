# demo-lib.sh: what the deployment demos share (sourced, not run).
#
# deploy/haproxy/demo and deploy/ha/demo are one command each: they install
# the Debian packages they lack, build the release tipd and the fault
# suite's burst client, and then drive them with tests/fault/lib.sh (a
# private work folder removed on exit, the burst log and the checker that
# joins it against the database). Nothing here starts anything.

DEMO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

demo_log() { printf 'demo: %s\n' "$*" >&2; }
demo_die() {
    printf 'demo: error: %s\n' "$*" >&2
    exit 1
}

# demo_packages PKG...: installs those missing, the way ./dev does.
demo_packages() {
    local missing=() p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y
        --no-install-recommends "${missing[@]}")
    demo_log "installing missing packages: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        { apt-get update >&2 && "${install[@]}" >&2; } || demo_die "apt-get failed"
    elif command -v sudo >/dev/null; then
        { sudo apt-get update >&2 && sudo "${install[@]}" >&2; } ||
            demo_die "apt-get failed"
    else
        demo_die "missing packages and no sudo; as root run:
    apt-get update && apt-get install --no-install-recommends ${missing[*]}"
    fi
}

# demo_build: build/release's tipd and burst (the demos measure, so not the
# sanitizer build); sets TIPD_BIN and BURST for tests/fault/lib.sh. Both
# set already (ctest's demo entries pass the sanitizer build's): no build.
demo_build() {
    local dir=$DEMO_ROOT/build/release
    if [ -x "${TIPD_BIN:-}" ] && [ -x "${BURST:-}" ]; then
        demo_log "using $TIPD_BIN and $BURST"
        return 0
    fi
    demo_packages cmake make gcc libc6-dev pkg-config libuv1-dev node-llhttp \
        libpq-dev libssl-dev libcjson-dev libopencc-dev libicu-dev \
        postgresql-15 postgresql-client-15 curl
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        cmake -S "$DEMO_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
            >"$dir.configure.log" 2>&1 ||
            {
                cat "$dir.configure.log" >&2
                demo_die "cmake configure of build/release failed"
            }
        rm -f "$dir.configure.log"
    fi
    demo_log "building build/release (tipd, burst)"
    cmake --build "$dir" -j2 --target tipd burst >"$dir/demo-build.log" 2>&1 ||
        {
            tail -30 "$dir/demo-build.log" >&2
            demo_die "build of build/release failed"
        }
    export TIPD_BIN=$dir/tipd BURST=$dir/tests/burst
}

# demo_elapsed T0 [T1]: seconds from T0 to T1 (default now), 2 decimals;
# times from `date +%s.%N`.
demo_elapsed() {
    local t1=${2:-$(date +%s.%N)}
    awk -v a="$1" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

# demo_wait_lines FILE N [SECONDS]: until FILE has N lines (the burst is
# that far along), or SECONDS (default 60) pass.
demo_wait_lines() {
    for _ in $(seq $((${3:-60} * 20))); do
        [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# demo_statuses LOG...: the burst log's answers counted by status, e.g.
# "201:19876 502:3 0:121" (0: the connection failed before an answer).
demo_statuses() {
    awk '{ n[$2]++ } END { for (s in n) printf "%s:%d ", s, n[s] }' "$@" |
        tr ' ' '\n' | sort -t: -k1,1n | tr '\n' ' ' | sed 's/ $//'
}

# demo_slowest LOG...: the longest wait for an answer, in ms.
demo_slowest() {
    awk '$4 > m { m = $4 } END { printf "%d", m }' "$@"
}

# demo_keep_logs: with DEMO_LOGS=DIR set, the logs of the work folder are
# copied there before it is removed (call from the exit trap).
demo_keep_logs() {
    [ -n "${DEMO_LOGS:-}" ] && [ -d "${WORK:-}" ] || return 0
    mkdir -p "$DEMO_LOGS"
    cp "$WORK"/*.log "$WORK"/log "$DEMO_LOGS"/ 2>/dev/null || true
    demo_log "logs kept in $DEMO_LOGS"
}
