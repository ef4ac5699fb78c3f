-- delivery_state.lua — the delivery status of one outbound message (a value of
-- hilo:{d:ID}:ostat) merged with one more delivery report. Used by settle_outbound.lua.
--
-- A report is the JSON dispatch.c builds: {"state","rank","pmid","error_code","error","ms"} and,
-- for a message sent in parts (a long SMS), "parts" (how many) and "part" (1-based: the report is
-- about that part alone; absent = about the whole message, e.g. the connector's own SENT after
-- its last call). Ranks: sent 1 < delivered 2 < read 3 < failed 4.
--
-- Without part reports the status is the whole-message report of the highest rank, exactly as
-- it was stored before parts existed (old values read back unchanged). Once a part reports, the
-- status also keeps
--   "parts": n,  "part_states": {"1": {"state","rank","pmid","error_code","error"}, ...}
--   "report": the whole-message report of the highest rank (absent until there is one)
-- and its own "state"/"rank" follow the parts:
--   - failed if any part failed ("failed_part" = the lowest such part, its error copied up) or
--     the whole-message report says failed (a part refused at send time: "k of n parts sent");
--   - else, once all n parts have reported, the lowest state every part has reached (never
--     below the whole-message report's);
--   - else what the whole-message report said (sent when there is none yet: a part went out).
-- Every input only moves forward (a part's rank, the report's rank, n), so the derived state
-- never goes back: reports arrive in any order and may repeat.
--
-- A status "unknown" (an at-most-once message whose provider call had no known outcome,
-- outbound_handoff.lua) is final: a report that comes later (the provider answered after the
-- lease ran out) is kept beside it as "late": {"state","rank","pmid","error_code","ms"} (its
-- highest whole-message report), and "state" stays "unknown".

local DELIVERY_NAMES = {'sent', 'delivered', 'read', 'failed'}
local DELIVERY_FAILED = 4

local function delivery_num(v)
  v = tonumber(v)
  if not v or v ~= math.floor(v) or v < 0 then return 0 end
  return v
end

-- The fields that describe one report (of a part or of the whole message).
local function delivery_entry(r)
  return {state = r.state, rank = delivery_num(r.rank), pmid = r.pmid, error_code = r.error_code,
          error = r.error}
end

local function delivery_derive(whole, parts, n)
  local out = {parts = n, part_states = parts, report = whole}
  local failed, all, low = nil, n > 0, nil
  for k = 1, n do
    local p = parts[tostring(k)]
    if not p then
      all = false
    elseif not low or p.rank < low then
      low = p.rank
    end
  end
  for k, p in pairs(parts) do
    local i = tonumber(k)
    if i and p.rank == DELIVERY_FAILED and (not failed or i < failed) then failed = i end
  end
  local first = parts['1']
  out.pmid = (whole and whole.pmid) or (first and first.pmid)
  if failed then
    local p = parts[tostring(failed)]
    out.rank, out.failed_part, out.error_code, out.error = DELIVERY_FAILED, failed, p.error_code, p.error
  elseif whole and whole.rank == DELIVERY_FAILED then
    out.rank, out.error_code, out.error = DELIVERY_FAILED, whole.error_code, whole.error
  elseif all then
    out.rank = math.max(low, whole and whole.rank or 0)
  else
    out.rank = whole and whole.rank or 1
  end
  out.state = DELIVERY_NAMES[out.rank] or (whole and whole.state) or 'sent'
  return out
end

-- prev: the stored status JSON, or nil/false. report: the new report's JSON. Returns the new
-- status JSON, or nil when the report changes nothing (an equal or earlier state).
local function delivery_state_merge(prev, report)
  local r = cjson.decode(report)
  local ok, p = pcall(cjson.decode, prev or 'null')
  if not ok or type(p) ~= 'table' then p = nil end
  local part = delivery_num(r.part)
  if p and p.state == 'unknown' then
    local late = type(p.late) == 'table' and p.late or nil
    if part ~= 0 or (late and delivery_num(late.rank) >= delivery_num(r.rank)) then return nil end
    p.late = {state = r.state, rank = delivery_num(r.rank), pmid = r.pmid, error_code = r.error_code, ms = r.ms}
    return cjson.encode(p)
  end
  local parts = p and type(p.part_states) == 'table' and p.part_states or nil
  if not parts and part == 0 then
    -- No part has reported: the whole-message report of the highest rank, stored as it came.
    if p and delivery_num(p.rank) >= delivery_num(r.rank) then return nil end
    return report
  end
  local whole, n = nil, math.max(delivery_num(p and p.parts), delivery_num(r.parts))
  if parts then
    whole = type(p.report) == 'table' and p.report or nil
  elseif p then
    whole = delivery_entry(p) -- the status so far was the whole-message report itself
  end
  parts = parts or {}
  local changed = n ~= delivery_num(p and p.parts)
  local entry = delivery_entry(r)
  if part > 0 then
    local old = parts[tostring(part)]
    if not old or entry.rank > delivery_num(old.rank) then
      if old and not entry.pmid then entry.pmid = old.pmid end
      parts[tostring(part)] = entry
      changed = true
    end
  elseif not whole or entry.rank > delivery_num(whole.rank) then
    whole, changed = entry, true
  end
  if not changed then return nil end
  if n < part then n = part end
  for _, e in pairs(parts) do e.rank = delivery_num(e.rank) end
  local out = delivery_derive(whole, parts, n)
  out.ms = r.ms
  return cjson.encode(out)
end
