-- POST /user/emails with a unique address per request: <prefix>-t<thread>-<counter>@example.com.
-- Token from $KESK_BENCH_TOKEN, prefix from $KESK_BENCH_PREFIX (unique per run, so no 409s).
local token = assert(os.getenv("KESK_BENCH_TOKEN"), "set KESK_BENCH_TOKEN")
local prefix = os.getenv("KESK_BENCH_PREFIX") or "wrk"
local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
}
local counter = 0
local thread_count = 0

-- setup() runs in the main Lua state, once per thread; thread:set() defines `tid` in that thread's state.
function setup(thread)
    thread_count = thread_count + 1
    thread:set("tid", thread_count)
end

function request()
    counter = counter + 1
    local body = string.format('{"email":"%s-t%d-%d@example.com"}', prefix, tid or 0, counter)
    return wrk.format("POST", nil, headers, body)
end
