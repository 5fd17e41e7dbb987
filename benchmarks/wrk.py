"""Runs wrk (a C load generator, so the client does not steal the Python
services' CPU the way a Python client would) and parses its JSON report."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
               + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def rotating(tokens: list[str], request: str) -> str:
    """A wrk script whose requests take the next bearer token each time; the
    Lua in `request` is the body of wrk's request function, with `i` counting
    requests and `bearer` the header value to send."""
    quoted = ", ".join(f'"{t}"' for t in tokens)
    return f"""
local tokens = {{ {quoted} }}
local i = 0
request = function()
  i = i + 1
  local bearer = "Bearer " .. tokens[(i % #tokens) + 1]
{request}
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (f"{self.name:<42} {self.rps:>9.1f} req/s   p50 {self.p50_ms:>7.2f} ms"
                f"   p99 {self.p99_ms:>7.2f} ms   errors {self.errors}")


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       capture_output=True)
        path = shutil.which("wrk")
    assert path, "wrk is not installed"
    return path


def run(name: str, url: str, script: str, *, seconds: int = 10, connections: int = 16,
        threads: int = 1) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "bench.lua"
        lua.write_text(script + REPORT_LUA)
        out = subprocess.run(
            [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(lua),
             "--timeout", "10s", url],
            check=True, capture_output=True, text=True, cwd=tmp,
        ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    return Result(name, **json.loads(line.removeprefix("WRK_JSON ")))
