-- Rejects JSON request bodies with fields the target RPC's request message
-- does not define. Envoy's gRPC-JSON transcoder drops unknown fields silently,
-- which would hide client typos ("dispalyName") and smuggled fields.
-- RULES (method, Lua path pattern, allowed top-level keys) is prepended by
-- edge/render.py from the descriptor set.

local function top_level_keys(text)
  -- A minimal scanner: the keys of the outermost JSON object. Anything that is
  -- not an object is left for the transcoder to reject.
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
  local headers = handle:headers()
  local method = headers:get(":method")
  local path = (headers:get(":path") or ""):gsub("%?.*$", "")
  for _, rule in ipairs(RULES) do
    if rule[1] == method and path:match(rule[2]) then
      local body = handle:body()
      if body == nil or body:length() == 0 then return end
      for _, key in ipairs(top_level_keys(body:getBytes(0, body:length()))) do
        if not rule[3][key] then
          local safe = key:gsub('[^%w_%.%-]', '?'):sub(1, 64)
          handle:respond({[":status"] = "400", ["content-type"] = "application/json"},
            '{"code":3,"message":"unknown field: ' .. safe .. '","details":[]}')
          return
        end
      end
      return
    end
  end
end
