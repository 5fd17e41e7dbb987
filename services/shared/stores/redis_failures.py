"""Redis's outage errors, registered with the failure policy
(services/shared/resilience/failures.py) for the Redis adapter
(services/shared/stores/redis_client.py; kept apart from it only while that
module is being reshaped by the Redis Cluster work: folding this in is one import).

Down: a connection refused or dropped (BusyLoadingError is a ConnectionError
too); on a cluster, a node down or its slots uncovered, or a slot's keys
mid-migration (TRYAGAIN). Too slow: a socket timeout."""

from __future__ import annotations

import redis.exceptions

from services.shared.resilience import failures

failures.register(
    "the cache", modules=("redis",),
    unavailable=(redis.exceptions.ConnectionError, redis.exceptions.ClusterDownError,
                 redis.exceptions.SlotNotCoveredError, redis.exceptions.TryAgainError),
    timeout=(redis.exceptions.TimeoutError,))
