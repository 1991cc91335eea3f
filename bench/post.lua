-- wrk script for the intake benchmark: realistic VK Callback API bodies (a
-- citizen's wall comment, ~700 bytes with Cyrillic text, as VK sends them),
-- each with its own event_id and comment id so no request is a redelivery.
-- The first script argument makes ids unique per run:  wrk ... -- RUNID
-- done() prints one JSON line for run-intake.sh.

local run = "00000000"
local counter = 0
local template = '{"type":"wall_reply_new","event_id":"%s%032x","v":"5.199",' ..
  '"group_id":100001,"secret":"maykop-example-secret","object":{"id":%d,' ..
  '"from_id":%d,"date":1795900000,"text":"Добрый день! На улице Пионерской ' ..
  'возле дома 12 уже третий день не горят фонари, вечером очень темно, дети ' ..
  'идут из школы. Когда починят освещение?","post_id":42,"owner_id":-100001,' ..
  '"parents_stack":[],"thread":{"count":0,"items":[],"can_post":true,' ..
  '"show_reply_button":true,"groups_can_post":true},"likes":{"count":0,' ..
  '"user_likes":0,"can_like":1}}}'
local headers = {["Content-Type"] = "application/json"}

function init(args)
  if args[1] then run = args[1] end
end

function request()
  counter = counter + 1
  local body = string.format(template, run, counter, counter, 100000 + counter % 50000)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
