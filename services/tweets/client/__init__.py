"""The tweets service's Redis layout, for the services that read it.

The tweets service writes these keys; the timeline reads them through this
package (the tweet cache, the views rendered from it and the viewer flags),
never by building the keys itself. Keys: docs/REDIS_KEYS.md."""
