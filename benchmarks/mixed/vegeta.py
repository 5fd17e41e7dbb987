"""vegeta (github.com/tsenart/vegeta), an open-loop HTTP load generator: it
sends at the requested constant rate whether or not earlier requests have
answered (it adds workers as needed), so a slow reply delays no later request
and queueing shows up in the latencies instead of lowering the offered load
(no coordinated omission). Built once with `go install` at a pinned version
into the shared cache, as the stack builds MinIO and the edge bench ghz."""

from __future__ import annotations

import base64
import json
import resource
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import gotools
from benchmarks.mixed.cpu import CpuSampler

VERSION = "v12.13.0"
TIMEOUT = "10s"


@dataclass(frozen=True)
class Target:
    kind: str  # what the request stands for in the mix (home, user_tweets, post, ...)
    method: str
    url: str
    token: str
    body: bytes = b""

    def line(self) -> str:
        header = {"Authorization": [f"Bearer {self.token}"]}
        if self.body:
            header["Content-Type"] = ["application/json"]
        return json.dumps({"method": self.method, "url": self.url, "header": header,
                           "body": base64.b64encode(self.body).decode()})


@dataclass(frozen=True)
class Hit:
    kind: str
    code: int
    latency_ms: float
    error: str


def ensure(cache_dir: Path) -> Path:
    return gotools.ensure(cache_dir, "github.com/tsenart/vegeta/v12", VERSION)


@dataclass(frozen=True)
class Attack:
    hits: list[Hit]
    cpu: dict[str, float]  # percent of one core per stack process, vegeta's, the rest


def attack(vegeta: Path, targets: list[Target], rate: float, seconds: float,
           sampler: CpuSampler) -> Attack:
    """Offers `rate` requests a second for `seconds`, cycling through the targets
    in order; returns every request's outcome and the CPU used meanwhile."""
    kinds = {(t.method, t.url): t.kind for t in targets}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "targets.json"
        path.write_text("\n".join(t.line() for t in targets) + "\n")
        results = Path(tmp) / "results.bin"
        before, client = sampler.snapshot(), _children_cpu()
        proc = subprocess.Popen(
            [str(vegeta), "attack", "-format=json", f"-targets={path}",
             f"-rate={round(rate * 60)}/1m", f"-duration={seconds}s", f"-timeout={TIMEOUT}",
             "-max-body=0", f"-output={results}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, err = proc.communicate()
        cpu = sampler.usage(before, sampler.snapshot())
        client_cpu = 100 * (_children_cpu() - client) / seconds
        cpu["vegeta (client)"] = client_cpu
        cpu["other"] = max(0.0, cpu["other"] - client_cpu)
        if proc.returncode != 0:
            raise RuntimeError(f"vegeta attack failed: {err}")
        encoded = subprocess.run([str(vegeta), "encode", "--to=json", str(results)],
                                 check=True, capture_output=True, text=True).stdout
    hits = []
    for line in encoded.splitlines():
        r = json.loads(line)
        hits.append(Hit(kinds.get((r["method"], r["url"]), "?"), r["code"],
                        r["latency"] / 1e6, r.get("error") or ""))
    return Attack(hits, cpu)


def _children_cpu() -> float:
    """CPU seconds of the waited-for child processes so far (vegeta's, here)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
