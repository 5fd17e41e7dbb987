-- Computes the request attributes the global rate limits are keyed on, as
-- headers the ratelimit filter's actions read (edge/render.py), since Envoy's
-- rate-limit actions cannot look into a JSON body:
--   x-rl-op       the RPC of a write route (POST/PATCH/PUT/DELETE), e.g.
--                 FollowUser; CreateTweet with a non-zero replyToTweetId is
--                 CreateReply (replies have a limit of their own)
--   x-rl-account  for Login, the account name from the body, normalized the
--                 way the users service matches it (trimmed, lower case)
-- The edge removes any client-sent x-rl-* header before this filter runs.
-- OPS (method, Lua path pattern, op) is prepended by edge/render.py.

local function decode_string(text, i)
  -- text:sub(i, i) is the opening quote; returns the decoded string and the
  -- index after the closing quote. \uXXXX escapes become UTF-8 so that an
  -- escaped name cannot dodge its bucket.
  local out, n = {}, #text
  i = i + 1
  while i <= n do
    local c = text:sub(i, i)
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = text:sub(i + 1, i + 1)
      if e == "u" then
        local cp = tonumber(text:sub(i + 2, i + 5), 16) or 63
        if cp < 0x80 then
          out[#out + 1] = string.char(cp)
        elseif cp < 0x800 then
          out[#out + 1] = string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
        else
          out[#out + 1] = string.char(0xE0 + math.floor(cp / 4096),
            0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
        end
        i = i + 6
      else
        local map = {n = "\n", t = "\t", r = "\r", b = "\b", f = "\f"}
        out[#out + 1] = map[e] or e
        i = i + 2
      end
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out), i
end

local function top_level_values(text)
  -- Scalar values of the outermost JSON object's keys (strings decoded,
  -- numbers and literals as written). Nested values are skipped.
  local values, depth, i, n = {}, 0, 1, #text
  local key, expect_key = nil, false
  while i <= n do
    local c = text:sub(i, i)
    if c == '"' then
      local s
      s, i = decode_string(text, i)
      if depth == 1 then
        if expect_key then
          key, expect_key = s, false
        elseif key ~= nil then
          values[key], key = s, nil
        end
      end
    elseif c == "{" or c == "[" then
      depth = depth + 1
      if depth == 1 and c == "{" then expect_key = true end
      if depth > 1 then key = nil end
      i = i + 1
    elseif c == "}" or c == "]" then
      depth = depth - 1
      i = i + 1
    elseif c == "," and depth == 1 then
      expect_key, key = true, nil
      i = i + 1
    elseif depth == 1 and key ~= nil and c:match("[%w%-%.]") then
      local token = text:match("^[%w%-%.%+]+", i)
      values[key], key = token, nil
      i = i + #token
    else
      i = i + 1
    end
  end
  return values
end

local function body_values(handle)
  local body = handle:body()
  if body == nil or body:length() == 0 then return {} end
  return top_level_values(body:getBytes(0, body:length()))
end

local function account_key(name)
  -- What the users service compares: strip() and lower(). Everything but
  -- the characters of usernames and e-mail addresses is dropped, so padding
  -- with (Unicode) spaces or control characters does not make a new bucket.
  local key = string.lower(name):gsub("[^%w@%._%+%-]", "")
  return key:sub(1, 254)
end

function envoy_on_request(handle)
  -- handle:body() invalidates a headers object taken before it: take them anew.
  local method = handle:headers():get(":method")
  local path = (handle:headers():get(":path") or ""):gsub("%?.*$", "")
  for _, rule in ipairs(OPS) do
    if rule[1] == method and path:match(rule[2]) then
      local op = rule[3]
      if op == "CreateTweet" then
        local v = body_values(handle)
        local reply = v["replyToTweetId"] or v["reply_to_tweet_id"]
        if reply ~= nil and reply ~= "" and reply ~= "0" then op = "CreateReply" end
      elseif op == "Login" then
        local name = body_values(handle)["username"]
        if type(name) == "string" then
          local key = account_key(name)
          if key ~= "" then handle:headers():replace("x-rl-account", key) end
        end
      end
      handle:headers():replace("x-rl-op", op)
      return
    end
  end
end
