-- Records the top-level keys of a write's JSON body for edge/rpc_checks.lua,
-- which rejects the ones the RPC's request does not define (Envoy's gRPC-JSON
-- transcoder drops unknown fields silently, hiding client typos such as
-- "dispalyName" and smuggled fields). The keys are read here, before the
-- transcoder, because only the JSON has them; the check runs after it,
-- because only then is the RPC known (edge/routes.py says why that matters).
-- They go to dynamic metadata (namespace "edge.json", key "keys": a set),
-- which clients cannot write.

local function top_level_keys(text)
  -- A minimal scanner: the keys of the outermost JSON object, as written
  -- (escapes kept). Anything that is not an object is left for the
  -- transcoder to reject.
  local keys, depth, i, n = {}, 0, 1, #text
  local expect_key = false
  while i <= n do
    local c = text:sub(i, i)
    if c == '"' then
      local j, buf = i + 1, {}
      while j <= n do
        local d = text:sub(j, j)
        if d == "\\" then
          buf[#buf + 1] = text:sub(j, j + 1)
          j = j + 2
        elseif d == '"' then
          break
        else
          buf[#buf + 1] = d
          j = j + 1
        end
      end
      if depth == 1 and expect_key then
        keys[#keys + 1] = table.concat(buf)
        expect_key = false
      end
      i = j + 1
    else
      if c == "{" or c == "[" then
        depth = depth + 1
        if depth == 1 and c == "{" then expect_key = true end
      elseif c == "}" or c == "]" then
        depth = depth - 1
      elseif c == "," and depth == 1 then
        expect_key = true
      end
      i = i + 1
    end
  end
  return keys
end

function envoy_on_request(handle)
  local body = handle:body()
  if body == nil or body:length() == 0 then return end
  local keys = top_level_keys(body:getBytes(0, body:length()))
  if #keys == 0 then return end
  local set = {}
  for _, key in ipairs(keys) do set[key] = true end
  handle:streamInfo():dynamicMetadata():set("edge.json", "keys", set)
end
