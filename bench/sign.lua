-- wrk script: signs documents by id through the native action API, each id once.
-- Environment: BENCH_AUTH (Authorization header), BENCH_FROM and BENCH_TO (the id range),
-- BENCH_WORKERS (wrk processes sharing the range) and BENCH_WORKER (this one, from 0).
-- Thread t of worker w signs from + (w * threads + t - 1) + k * workers * threads, k = 0, 1...
-- Once its ids are exhausted a thread only reads /healthz (not counted).
local threads = {}
local nthreads = 0

function setup(thread)
   nthreads = nthreads + 1
   thread:set("tid", nthreads)
   table.insert(threads, thread)
end

local from, to, stride, nextid, auth

function init(args)
   local workers = tonumber(os.getenv("BENCH_WORKERS") or "1")
   local worker = tonumber(os.getenv("BENCH_WORKER") or "0")
   local per = tonumber(os.getenv("BENCH_THREADS") or "1")
   from = tonumber(os.getenv("BENCH_FROM"))
   to = tonumber(os.getenv("BENCH_TO"))
   stride = workers * per
   nextid = from + worker * per + tid - 1
   auth = os.getenv("BENCH_AUTH")
   ok, bad, exhausted, first_bad = 0, 0, 0, ""
end

function request()
   if nextid > to then
      exhausted = 1
      return wrk.format("GET", "/healthz")
   end
   local id = nextid
   nextid = nextid + stride
   return wrk.format("POST", "/api/v1/documents/" .. id .. "/sign",
      { ["Authorization"] = auth, ["Content-Length"] = "0" }, "")
end

function response(status, headers, body)
   if exhausted == 1 and status == 200 and body == "ok" then return end
   if status == 200 or status == 204 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == "" then first_bad = status .. " " .. body:sub(1, 200) end
   end
end

function done(summary, latency, requests)
   local tok, tbad, ex, sample = 0, 0, 0, ""
   for _, t in ipairs(threads) do
      tok = tok + (t:get("ok") or 0)
      tbad = tbad + (t:get("bad") or 0)
      ex = ex + (t:get("exhausted") or 0)
      local fb = t:get("first_bad")
      if sample == "" and fb and fb ~= "" then sample = fb end
   end
   io.write(string.format("SIGN_OK=%d SIGN_BAD=%d EXHAUSTED=%d\n", tok, tbad, ex))
   if sample ~= "" then io.write("FIRST_BAD=" .. sample .. "\n") end
end
