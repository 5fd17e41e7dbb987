-- CORS for browser clients. Envoy's own CORS filter acts only on requests
-- routed to a cluster, and a REST path reaches its cluster only after the
-- transcoder rewrote it, so preflights (never transcoded) and the edge's own
-- replies (401, 404, 413, 429) would get no CORS headers. This filter runs
-- first and sees every request and every response.
-- ANY_ORIGIN, ORIGINS (set), METHODS, HEADERS, EXPOSE, MAX_AGE are prepended
-- by edge/render.py. Bearer tokens, no cookies: credentials are not allowed.

local function allowed(origin)
  return origin ~= nil and (ANY_ORIGIN or ORIGINS[origin] == true)
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local origin = headers:get("origin")
  if not allowed(origin) then return end
  if headers:get(":method") == "OPTIONS" and headers:get("access-control-request-method") then
    handle:respond({
      [":status"] = "204",
      ["access-control-allow-origin"] = origin,
      ["access-control-allow-methods"] = METHODS,
      ["access-control-allow-headers"] = HEADERS,
      ["access-control-max-age"] = MAX_AGE,
      ["vary"] = "origin",
    }, "")
    return
  end
  handle:streamInfo():dynamicMetadata():set("edge.cors", "origin", origin)
end

function envoy_on_response(handle)
  local meta = handle:streamInfo():dynamicMetadata():get("edge.cors")
  if meta == nil or meta["origin"] == nil then return end
  local headers = handle:headers()
  headers:replace("access-control-allow-origin", meta["origin"])
  headers:replace("access-control-expose-headers", EXPOSE)
  headers:add("vary", "origin")
end
