-- wrk script: GET (or POST) of a path holding "{id}", the id drawn at random among
-- FIRST, FIRST + STEP, ... (COUNT of them), with an Authorization header or a cookie.
-- Environment: BENCH_PATH, BENCH_ID_FIRST (1), BENCH_ID_STEP (1), BENCH_ID_COUNT (1),
-- BENCH_AUTH or BENCH_COOKIE, BENCH_METHOD (GET), BENCH_BODY (a JSON body for POST).
-- A 200 whose body is a FAST error (`"errorCode"`) counts as bad, like any other status.
local path = os.getenv("BENCH_PATH")
local first = tonumber(os.getenv("BENCH_ID_FIRST") or "1")
local step = tonumber(os.getenv("BENCH_ID_STEP") or "1")
local count = tonumber(os.getenv("BENCH_ID_COUNT") or "1")
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("tid", next_id)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(1000 + tid)
   ok, bad, first_bad = 0, 0, ""
   local auth = os.getenv("BENCH_AUTH")
   local cookie = os.getenv("BENCH_COOKIE")
   if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
   if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
   if body then wrk.headers["Content-Type"] = "application/json" end
end

function request()
   local id = first + step * math.random(0, count - 1)
   local p = string.gsub(path, "{id}", tostring(id))
   return wrk.format(method, p, nil, body)
end

function response(status, headers, b)
   if status == 200 and not b:find('"errorCode"', 1, true) then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == "" then first_bad = status .. " " .. b:sub(1, 200) end
   end
end

function done(summary, latency, requests)
   local tok, tbad, sample = 0, 0, ""
   for _, t in ipairs(threads) do
      tok = tok + (t:get("ok") or 0)
      tbad = tbad + (t:get("bad") or 0)
      local fb = t:get("first_bad")
      if sample == "" and fb and fb ~= "" then sample = fb end
   end
   io.write(string.format("READ_OK=%d READ_BAD=%d\n", tok, tbad))
   if sample ~= "" then io.write("FIRST_BAD=" .. sample .. "\n") end
end
