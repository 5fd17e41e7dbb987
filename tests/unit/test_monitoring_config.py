"""The alert rules and the dashboard (k8s/components/monitoring) hold what an
operator needs; `make lint` parses their PromQL with Prometheus's own parser."""

from __future__ import annotations

from stack import monitoring

# Issue 17: the alerts the monitoring must have.
REQUIRED = {"TwitterHighErrorRatio", "TwitterRouteLatencyP99", "TwitterFanoutLagP99",
            "TwitterConsumerPendingGrowing", "TwitterDeadLetters", "TwitterOutboxBacklog",
            "TwitterCircuitBreakerOpen"}


def test_rules_and_dashboard_have_runbooks_known_metrics_and_grafana_fields() -> None:
    assert monitoring.problems() == []


def test_every_required_alert_is_there() -> None:
    assert {a["alert"] for a in monitoring.alerts()} >= REQUIRED


def test_a_misspelt_metric_is_caught() -> None:
    known = monitoring.exported_metrics()
    assert "jetstream_consumer_pending" in known
    assert "timeline_fanout_lag_seconds" in known
    assert monitoring.metric_names(
        'sum by (service) (rate(grpc_server_handling_second_count{code="OK"}[5m])) > 0 '
        "and on (service) up") == {"grpc_server_handling_second_count", "up"}
    assert monitoring.unknown_metrics(
        "rate(grpc_server_handling_second_count[5m])", known) == {
            "grpc_server_handling_second_count"}
