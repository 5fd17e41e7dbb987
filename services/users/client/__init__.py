"""The users service's Redis layout, for the services that read it.

The users service writes these keys: the relations cache (blocks and mutes,
read on every service's read path), the list audience cache (read by list
timelines) and the revocation stream (read by every service's
authentication). Others read them through this package only.
Keys: docs/REDIS_KEYS.md."""
