"""A worker's HTTP endpoint: Prometheus metrics, and probes that say more than
"the process answers".

    /metrics   Prometheus text
    /livez     200 while the process serves HTTP (liveness)
    /readyz    200 while `ready()` holds, else 503 with the reason (readiness)

It runs on its own thread, like prometheus_client's server, so a stuck event
loop shows as a stalled consumer (readiness) rather than as no answer at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

Ready = Callable[[], tuple[bool, str]]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a probe every few seconds is not news


def app(ready: Ready) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/livez":
            status, body = "200 OK", "live"
        elif path == "/readyz":
            ok, reason = ready()
            status, body = ("200 OK" if ok else "503 Service Unavailable"), reason
        else:
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [body.encode()]

    return serve


def start(host: str, port: int, ready: Ready) -> ThreadingWSGIServer:
    server = make_server(host, port, app(ready), ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="probe-http").start()
    return server
