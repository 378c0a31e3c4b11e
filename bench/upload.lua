-- wrk script: multipart FAST v2 uploads with a unique label per request.
-- Environment: BENCH_PDF (path of the PDF to send), BENCH_RUN (a prefix unique to this run),
-- BENCH_AUTH (the Authorization header value).
local boundary = "----parapheurbench7d1f0c"
local pdf_path = os.getenv("BENCH_PDF")
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local auth = os.getenv("BENCH_AUTH")

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("tid", next_id)
   table.insert(threads, thread)
end

local pdf, head1, head2, tail, counter

function init(args)
   local f = assert(io.open(pdf_path, "rb"))
   pdf = f:read("*a")
   f:close()
   head1 = "--" .. boundary .. "\r\n"
      .. "Content-Disposition: form-data; name=\"label\"\r\n\r\n"
   head2 = "\r\n--" .. boundary .. "\r\n"
      .. "Content-Disposition: form-data; name=\"doc\"; filename=\"bench.pdf\"\r\n"
      .. "Content-Type: application/pdf\r\n\r\n"
   tail = "\r\n--" .. boundary .. "--\r\n"
   counter = 0
   ok, bad, first_bad = 0, 0, ""
   wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
   wrk.headers["Authorization"] = auth
end

function request()
   counter = counter + 1
   local label = "bench-" .. run .. "-" .. tid .. "-" .. counter
   local body = head1 .. label .. head2 .. pdf .. tail
   return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
   if status == 200 and body:match("^%d+$") then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == "" then first_bad = status .. " " .. body:sub(1, 200) end
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
   io.write(string.format("UPLOAD_OK=%d UPLOAD_BAD=%d\n", tok, tbad))
   if sample ~= "" then io.write("FIRST_BAD=" .. sample .. "\n") end
end
