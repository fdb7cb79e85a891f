-- claims.lua: the wrk script of the claims benchmark (loadtest/claims).
--
-- Every request claims one case of the unit's default queue for an hour
-- with the staff token given; response() counts statuses and the answers
-- that carried a case. done() prints one "claims:" line that
-- loadtest/claims reads.
--
-- usage: wrk -s claims.lua URL -- TOKEN
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

local headers = { ["Content-Type"] = "application/json" }
local body = '{"max":1,"lease_seconds":3600}'
statuses = {}
with_case = 0

function init(args)
    if args[1] == nil then
        error("usage: wrk -s claims.lua URL -- TOKEN")
    end
    headers["Authorization"] = "Bearer " .. args[1]
end

function request()
    return wrk.format("POST", "/api/v1/staff/queues/default/claim", headers,
        body)
end

function response(status, _, resp)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 200 and string.find(resp, "lease_token", 1, true) then
        with_case = with_case + 1
    end
end

function done(summary, latency, _)
    local ok, other, cases = 0, 0, 0
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            if status == 200 then ok = ok + n else other = other + n end
        end
        cases = cases + thread:get("with_case")
    end
    local e = summary.errors
    io.write(string.format(
        "claims: ok=%d with_case=%d other=%d socket_errors=%d duration_us=%d " ..
        "p50_us=%d p99_us=%d\n",
        ok, cases, other, e.connect + e.read + e.write + e.timeout,
        summary.duration, latency:percentile(50), latency:percentile(99)))
end
