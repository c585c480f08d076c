-- wrk script for bench/ingest.py: every request a new simulator webhook with a message id unique across the
-- whole bench (the run label, wrk's thread, a counter), PER_CUSTOMER messages per customer. RUN (the run label:
-- letters, digits and dashes) and PER_CUSTOMER come from the environment. At the end it prints one line,
-- `WRK_RESULT {json}`: completed requests, wrk's duration, latency p50/p99/max (microseconds) and errors
-- (status: answers of 400 and above; connect/read/write: socket errors; timeout: no answer within --timeout).
local run = os.getenv("RUN") or "run"
local per_customer = tonumber(os.getenv("PER_CUSTOMER") or "5")
local threads = {}
local counter = 0

function setup(thread)
   thread:set("number", #threads)  -- a global of that thread's own Lua state
   table.insert(threads, thread)
end

function init(args)
   counter = 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
   counter = counter + 1
   local customer = math.floor((counter - 1) / per_customer)
   local body = string.format(
      '{"from":"b-%s-%d-%d","name":"Bench %s %d-%d","message":"bench message %d","type":"text",' ..
      '"message_id":"b-%s-%d-%d","timestamp":"2024-02-14T10:00:00Z"}',
      run, number, customer, run, number, customer, counter, run, number, counter)
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
