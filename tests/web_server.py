"""A real `recoup serve` in a subprocess on a free loopback port, and Debian's Chromium for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RECOUP_TEST_CHROMIUM", "/usr/bin/chromium")
# Flags for a machine without a display or network: no sandbox as root, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_or_skip() -> str:
    """The browser's path. CI installs it (.ci/run), so there a missing browser is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUP_")}
    return {**env, **extra}


IN_USE = "address already in use"
ATTEMPTS = 3  # a free port can be taken by another test worker before the server binds it


@contextmanager
def serving(
    root: Path, cwd: Path, *args: str, env: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> Iterator[str]:
    """`recoup serve` on `root` until the block ends; yields its base URL (on 127.0.0.1)."""
    for attempt in range(1, ATTEMPTS + 1):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "recoup", "--workspace", str(root), "serve",
             "--host", host, "--port", str(port), *args],
            cwd=cwd, env=env or clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        try:
            output = _started(process, port)
            if output is None:
                yield f"http://127.0.0.1:{port}"
                return
            if IN_USE not in output or attempt == ATTEMPTS:
                raise AssertionError(f"recoup serve exited {process.returncode}: {output}")
        finally:
            _stop(process)


def _started(process: subprocess.Popen[str], port: int) -> str | None:
    """None once the server accepts connections on `port`; what it printed if it exited."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            return process.stdout.read() if process.stdout else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if process.poll() is None:  # and ours still runs: it did not fail to bind
                    return None
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("recoup serve did not start within 60 s") from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
