-- wrk script for the benchmark: POSTs the same JSON body on every request.
--   BENCH_BODY     file holding the request body (required)
--   BENCH_KEY      sent as "Authorization: Bearer <key>" when set
--   BENCH_HEADERS  more headers, "Name: value" separated by newlines
local path = os.getenv("BENCH_BODY")
local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
local extra = os.getenv("BENCH_HEADERS")
if extra then
  for line in extra:gmatch("[^\n]+") do
    local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
  end
end
