-- Gives error responses the HTTP status our API promises for their gRPC code
-- (DESIGN: INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403,
-- NOT_FOUND 404, ALREADY_EXISTS 409, FAILED_PRECONDITION 412,
-- RESOURCE_EXHAUSTED 429, UNAVAILABLE 503). Envoy's transcoder follows the
-- standard gRPC to HTTP table, which sends FAILED_PRECONDITION as 400; here the
-- code in the JSON body {code, message, details} decides, but only for a
-- status the transcoder chose (ENVOY_STATUS_OF): the edge's own replies keep
-- theirs (413 carries INVALID_ARGUMENT, and stays 413).
-- It also names the code: {"code":3,...} becomes {"code":3,"status":
-- "INVALID_ARGUMENT",...} (the edge's local replies carry it already).
-- STATUS_OF and ENVOY_STATUS_OF (gRPC code -> HTTP status) and CODE_NAMES
-- (gRPC code -> name) are prepended by edge/filters.py.

function envoy_on_response(handle)
  local headers = handle:headers()
  local status = tonumber(headers:get(":status") or "0")
  if status < 400 then return end
  -- A service names a status its gRPC code cannot (422: an Idempotency-Key
  -- reused with another body), in the trailing metadata x-http-status.
  local named = tonumber(headers:get("x-http-status") or "")
  headers:remove("x-http-status")
  if named and named >= 400 and named < 500 then
    headers:replace(":status", tostring(named))
    return
  end
  local content_type = headers:get("content-type") or ""
  if not content_type:find("application/json", 1, true) then return end
  local body = handle:body()
  if body == nil or body:length() == 0 then return end
  local head = body:getBytes(0, math.min(body:length(), 64))
  local code = tonumber(head:match('^%s*{%s*"code"%s*:%s*(%d+)'))
  local name = code and CODE_NAMES[code]
  -- The access log's grpc_status: the code the body carries (the transcoder
  -- consumed the upstream's grpc-status trailer).
  if name then
    handle:streamInfo():dynamicMetadata():set("edge.grpc", "status", name)
  end
  if name and not head:find('"status"', 1, true) then
    local text = body:getBytes(0, body:length())
    local named = text:gsub('^(%s*{%s*"code"%s*:%s*%d+)', '%1,"status":"' .. name .. '"', 1)
    body:setBytes(named)
  end
  local want = code and STATUS_OF[code]
  -- UNAVAILABLE: tell clients when to come back (a breaker probes within a second).
  if (want or status) == 503 and handle:headers():get("retry-after") == nil then
    handle:headers():add("retry-after", "1")
  end
  if want and want ~= status and ENVOY_STATUS_OF[code] == status then
    handle:headers():replace(":status", tostring(want))
  end
end
