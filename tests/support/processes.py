"""Helpers for tests that start processes: a script in a fresh interpreter, collected static files, a real gunicorn
on a free port."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**env: str) -> dict[str, str]:
    """The test process's environment without the variables that would change the shop's mode."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    environment.update({"DJANGO_SETTINGS_MODULE": "commerce.settings", **env})
    return environment


def run_python(script: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``script`` run in a fresh interpreter from the project's root, on ``clean_environment(**env)``; a script
    that fails fails the test with the end of its standard error."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def collect_static(static_root: Path) -> None:
    """``manage.py collectstatic`` into ``static_root`` with the production storage (hashed, compressed)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=clean_environment(STATIC_ROOT=str(static_root)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextmanager
def running_gunicorn(*, workers: int = 2, **env: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The run command's server (``gunicorn -c python:commerce.gunicorn_conf``) on a free port."""
    port = free_port()
    scratch = tempfile.mkdtemp(prefix="commerce-gunicorn-")  # its metrics files, never in var/
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(scratch) / "prometheus"))
    log = open(os.devnull, "w") if "GUNICORN_LOG" not in env else open(env.pop("GUNICORN_LOG"), "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:commerce.gunicorn_conf", "commerce.wsgi"],
        cwd=ROOT,
        env=clean_environment(PORT=str(port), WEB_CONCURRENCY=str(workers), **env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a machine busy with other test runs boots slowly
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            try:
                if get(f"{base}/health/live", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within three minutes")
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)
