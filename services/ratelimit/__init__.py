"""Envoy's global rate limit service (envoy.service.ratelimit.v3), backed by Redis."""
