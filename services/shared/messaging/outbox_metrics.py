"""Outbox metrics shared by the PostgreSQL and the Cassandra outbox relays."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BACKLOG = Gauge(
    "outbox_backlog",
    "Events (PostgreSQL: rows) or intents (Cassandra: past their grace period) waiting "
    "to be relayed, as this replica last saw them.", ["outbox"])
RELAYED = Counter("outbox_relayed_total",
                  "Rows relayed or intents resolved by the relay, by outcome.",
                  ["outbox", "outcome"])
