"""A worker process ends as soon as its own stop is done: what a library
leaves for the interpreter's exit (a blocked executor thread, a slow exit
hook) does not hold it (services/shared/messaging/worker.py, `serve`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELD_SECONDS = 60  # what each leftover would hold the exit for
WITHIN_SECONDS = 20  # a slow start of the interpreter included


def serve(body: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent("""
        import asyncio, atexit, time
        from services.shared.messaging import worker

        async def main() -> None:
        {body}

        worker.serve(main)
    """).format(body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.run([sys.executable, "-c", script], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=WITHIN_SECONDS)


def test_leftover_threads_and_exit_hooks_do_not_hold_the_exit() -> None:
    done = serve(f"""
        asyncio.get_running_loop().run_in_executor(None, time.sleep, {HELD_SECONDS})
        atexit.register(time.sleep, {HELD_SECONDS})
        print("worker stopped")  # block-buffered into the pipe: flushed before the end
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "worker stopped\n"


def test_a_failed_start_ends_with_its_traceback_and_status_1() -> None:
    done = serve("""
        raise RuntimeError("no NATS")
    """)
    assert done.returncode == 1
    assert "RuntimeError: no NATS" in done.stderr
