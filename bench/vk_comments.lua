-- wrk script: unique VK comments on Maykop's page (vk:100001), at a fixed
-- rate.  RATE (requests/s, all connections together) and CONNS come from the
-- environment; each connection waits CONNS/RATE s between requests.
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  rate = tonumber(os.getenv("RATE") or "5000")
  conns = tonumber(os.getenv("CONNS") or "200")
end

function delay()
  return 1000 * conns / rate
end

local text = "Добрый день. Во дворе дома 7 по улице Жуковского не вывозят мусор уже неделю, " ..
             "контейнеры переполнены, просим принять меры."

function request()
  counter = counter + 1
  local id = tid * 10000000 + counter
  local body = string.format(
    '{"type":"wall_reply_new","event_id":"bench-%d","v":"5.199","group_id":100001,' ..
    '"secret":"maykop-example-secret","object":{"id":%d,"from_id":7001,"date":1795900000,' ..
    '"text":"%s","post_id":%d,"owner_id":-100001,"parents_stack":[]}}',
    id, id, text, 9000 + tid)
  return wrk.format("POST", "/webhook/vk", {["Content-Type"] = "application/json"}, body)
end
