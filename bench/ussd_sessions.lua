-- wrk script: every connection is one teacher's phone running complete USSD sessions.
-- Run with as many threads as connections (-t N -c N): wrk keeps Lua state per thread.
-- Answers each Arabic screen the way a teacher marking two absentees would, choosing the
-- first of their classes not yet taken today (no ✓) as a teacher marks their own class; when
-- all are taken, late arrivals instead, each for a student picked at random among the
-- present ones (04-29, classes hold 30 or more: always the same one was late already after
-- the first time, and the session wrote nothing); END starts the next session.

local msisdns = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function new_session()
  idx = idx + stride
  msisdn = msisdns[(idx % #msisdns) + 1]
  sid = "bench-" .. tid .. "-" .. idx .. "-" .. math.random(1, 1000000000)
  inputs = {}
  sessions = sessions + 1
end

function init(args)
  for line in io.lines(args[1]) do msisdns[#msisdns + 1] = line end
  stride = tonumber(args[2])
  path = args[3]
  idx = tid
  sessions, ends, errors = 0, 0, 0
  math.randomseed(os.time() + tid)
  new_session()
end

function request()
  local body = "sessionId=" .. sid .. "&serviceCode=%2A384%2A22%23&phoneNumber=" ..
    urlencode(msisdn) .. "&networkCode=60202&text=" .. urlencode(table.concat(inputs, "*"))
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

local function has(body, s) return body:find(s, 1, true) ~= nil end

local TICK = "\226\156\147"  -- ✓ in UTF-8: a class taken today

-- The key of the first class on a class menu (keys 1-3: a page) not taken today, else "1".
local function untaken_class(body)
  for key, name in body:gmatch("\n([123]) ([^\n]*)") do
    if name:sub(1, #TICK) ~= TICK then return key end
  end
  return "1"
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1; new_session(); return end
  if body:sub(1, 3) == "END" then ends = ends + 1; new_session(); return end
  if #inputs >= 12 then new_session(); return end
  local nxt = "1"
  if has(body, "اختر الفصل") then nxt = untaken_class(body)
  elseif has(body, "الغياب: ") or has(body, "الغائبون؟") then nxt = "0103"
  elseif has(body, "غياب ") and has(body, "1 تأكيد") then nxt = "1"
  elseif has(body, "سُجّل حضور اليوم") then nxt = "1"
  elseif has(body, "المتأخرون؟") then nxt = string.format("%02d", math.random(4, 29))
  elseif has(body, "تأخير: ") then nxt = "1"
  elseif has(body, "CON hello") then nxt = "1"
  end
  inputs[#inputs + 1] = nxt
end

function done(summary, latency, requests)
  local s, e, x = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + (t:get("sessions") or 0); e = e + (t:get("ends") or 0); x = x + (t:get("errors") or 0)
  end
  io.write(string.format("LUA sessions=%d ends=%d errors=%d\n", s, e, x))
end
