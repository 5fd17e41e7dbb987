-- Checks of a write, keyed on the RPC it will call. This filter runs after
-- the gRPC-JSON transcoder, so :path is that RPC (/pkg.Service/Method)
-- whatever spelling of the REST path the client used (edge/routes.py):
--   strict JSON  400 for a body key the RPC's request does not define (the
--                keys come from edge/json_keys.lua, run before the transcoder)
--   x-rl-op      the op the global rate limits of the route key on: the RPC's
--                name, or its variant when the request's variant field is
--                non-zero (CreateTweet with a reply_to_tweet_id is
--                CreateReply, which has a limit of its own). The field is
--                read from the protobuf the service will receive, so no JSON
--                spelling can make a tweet count as a reply.
-- The edge removes any client-sent x-rl-* header before any filter runs.
-- RPCS (gRPC path -> {op, keys, variant_field, variant_op}) is prepended by
-- edge/routes.py.

local function varint(bytes, i)
  -- Decodes the varint at i: whether it is non-zero, and the index after it.
  -- (Lua numbers are doubles: exact up to 2^53, enough for lengths.)
  local value, scale, nonzero = 0, 1, false
  while i <= #bytes do
    local b = bytes:byte(i)
    if b % 128 ~= 0 then nonzero = true end
    value = value + (b % 128) * scale
    scale = scale * 128
    i = i + 1
    if b < 128 then return value, nonzero, i end
  end
  return nil, false, i
end

local function field_is_set(frame, wanted)
  -- Whether a gRPC frame's message has field `wanted` (a varint) non-zero.
  -- The 5-byte frame header (flag, length) comes first.
  local i = 6
  while i <= #frame do
    local tag, _, after_tag = varint(frame, i)
    if tag == nil then return false end
    local number, wire = math.floor(tag / 8), tag % 8
    i = after_tag
    if wire == 0 then
      local value, nonzero, after = varint(frame, i)
      if value == nil then return false end
      if number == wanted and nonzero then return true end
      i = after
    elseif wire == 2 then
      local length, _, after = varint(frame, i)
      if length == nil then return false end
      i = after + length
    elseif wire == 1 then
      i = i + 8
    elseif wire == 5 then
      i = i + 4
    else
      return false
    end
  end
  return false
end

function envoy_on_request(handle)
  local rpc = RPCS[handle:headers():get(":path")]
  if rpc == nil then return end
  local json = handle:streamInfo():dynamicMetadata():get("edge.json")
  if json ~= nil and json["keys"] ~= nil then
    for key, _ in pairs(json["keys"]) do
      if not rpc.keys[key] then
        local safe = key:gsub("[^%w_%.%-]", "?"):sub(1, 64)
        -- The edge's local reply mapping wraps it as {code, message, details}.
        handle:respond({[":status"] = "400"}, "unknown field: " .. safe)
        return
      end
    end
  end
  local op = rpc.op
  if rpc.variant_field ~= nil then
    local body = handle:body()
    if body ~= nil and field_is_set(body:getBytes(0, body:length()), rpc.variant_field) then
      op = rpc.variant_op
    end
  end
  -- handle:body() invalidates headers taken before it: take them anew.
  handle:headers():replace("x-rl-op", op)
end
