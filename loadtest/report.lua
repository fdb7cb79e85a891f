-- report.lua: the wrk script of the closed-loop intake benchmark.
--
-- Each request POSTs one report body (the lines of reports.jsonl, in turn)
-- to /api/v1/reports with its own Idempotency-Key, RUN-THREAD-N: RUN keeps
-- keys apart across runs against the same database, THREAD (wrk thread,
-- from 1) across threads, and N counts the thread's requests. response()
-- counts the statuses per thread and done() prints them with wrk's own
-- figures on lines starting "intake:", which loadtest/run reads.
--
-- usage: wrk -s report.lua URL -- BODIES_FILE RUN_ID
local threads = {}
local nthreads = 0

function setup(thread)
    nthreads = nthreads + 1
    thread:set("thread_no", nthreads)
    table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state).
local bodies = {}
local prefix = ""
local seq = 0
local headers = { ["Content-Type"] = "application/json" }
statuses = {}

function init(args)
    local path, run = args[1], args[2]
    if path == nil or run == nil then
        error("usage: wrk -s report.lua URL -- BODIES_FILE RUN_ID")
    end
    for line in io.lines(path) do
        if #line > 0 then
            bodies[#bodies + 1] = line
        end
    end
    if #bodies == 0 then
        error("no report bodies in " .. path)
    end
    prefix = run .. "-" .. thread_no .. "-"
end

function request()
    seq = seq + 1
    headers["Idempotency-Key"] = prefix .. seq
    return wrk.format("POST", "/api/v1/reports", headers,
        bodies[seq % #bodies + 1])
end

function response(status, _, _)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _)
    local total, answers, non2xx = {}, 0, 0
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            total[status] = (total[status] or 0) + n
        end
    end
    local codes = {}
    for status, n in pairs(total) do
        codes[#codes + 1] = status
        answers = answers + n
        if status < 200 or status > 299 then
            non2xx = non2xx + n
        end
    end
    table.sort(codes)
    local parts = {}
    for _, status in ipairs(codes) do
        parts[#parts + 1] = status .. "=" .. total[status]
    end
    local e = summary.errors
    io.write(string.format(
        "intake: answers=%d status_201=%d non2xx=%d duration_us=%d " ..
        "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
        answers, total[201] or 0, non2xx, summary.duration,
        e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9), latency.max))
    io.write("intake: statuses " .. table.concat(parts, " ") .. "\n")
end
