"""The three servers of the checkout benchmark: the baseline commit's shop, the working tree's, the floor."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench.checkout.drive import request

ROOT = Path(__file__).resolve().parent.parent.parent
SHOP_SCRIPT = Path(__file__).resolve().parent / "_shop.py"
FLOOR_DIR = ROOT / "bench" / "http"  # the ``floor`` Django project lives in bench/http/floor


def fail(message: str) -> None:
    sys.exit(f"bench/checkout: {message}")


def database_url(base: str, suffix: str) -> str:
    """``base``'s URL with ``_<suffix>`` appended to the database's name (its query string kept)."""
    if not suffix:
        return base
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"{parts.path}_{suffix}"))


@dataclass
class Server:
    """One system under test: its code (``tree``, ``None`` for the floor), database and port."""

    name: str
    tree: Path | None
    database: str
    port: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_floor(self) -> bool:
        return self.tree is None

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.database}
        if self.is_floor:
            return {**env, "DJANGO_SETTINGS_MODULE": "floor.settings", "PYTHONPATH": str(FLOOR_DIR)}
        return {**env, "DJANGO_SETTINGS_MODULE": "commerce.settings", "PYTHONPATH": str(self.tree)}

    def shop(self, command: str, spec: dict) -> dict:
        """Run ``_shop.py <command>`` with this server's code and database: its JSON answer."""
        done = subprocess.run(
            [sys.executable, str(SHOP_SCRIPT), command],
            input=json.dumps(spec),  # on stdin: a run's cart ids are more than an argument list may hold
            cwd=self.tree,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            fail(f"{command} for the {self.name} shop failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def migrate(self) -> None:
        """The tree's own ``manage.py migrate_all`` (it creates the database too); for the floor, the
        database created here and its two tables by ``migrate --run-syncdb``."""
        if self.is_floor:
            create_database(self.database)
            command = [sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"]
            cwd = FLOOR_DIR
        else:
            command, cwd = [sys.executable, str(self.tree / "manage.py"), "migrate_all", "-v", "0"], self.tree
        done = subprocess.run(command, cwd=cwd, env=self.env(), capture_output=True, text=True)
        if done.returncode != 0:
            fail(f"migrating the {self.name} database failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")

    def start(self, workers: int) -> None:
        app, chdir = (
            ("floor.wsgi:application", FLOOR_DIR) if self.is_floor else ("commerce.wsgi:application", self.tree)
        )
        self.log = Path(tempfile.gettempdir()) / f"bench-checkout-{self.name}-{self.port}.log"
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), app, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--chdir", str(chdir), "--log-level", "warning"],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> None:
        path = "/checkout" if self.is_floor else "/health/live"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"the {self.name} server stopped (see {self.log})")
            try:
                if request("GET", self.base + path, timeout=5).status in (200, 405):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        fail(f"the {self.name} server did not answer within 60 s (see {self.log})")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def create_database(url: str) -> None:
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    maintenance = urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/postgres", query=""))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


class Baseline:
    """The baseline commit checked out with ``git worktree add --detach`` in a temporary directory, removed
    again by ``remove``. It runs on this checkout's ``.venv``, so its ``requirements.lock`` must be ours."""

    def __init__(self, commit: str) -> None:
        resolved = subprocess.run(
            ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True, text=True
        )
        if resolved.returncode != 0:
            fail(f"BENCH_BASELINE={commit} is no commit of this repository")
        self.commit = resolved.stdout.strip()
        lock = subprocess.run(
            ["git", "show", f"{self.commit}:requirements.lock"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        if lock != (ROOT / "requirements.lock").read_bytes():
            fail(
                f"the baseline {self.commit[:10]}'s requirements.lock differs from the working tree's: its "
                "dependencies are not this .venv's, so the comparison would not be of the code alone"
            )
        self.path = Path(tempfile.mkdtemp(prefix="bench-checkout-baseline-"))
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(self.path), self.commit],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip

    def remove(self) -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(self.path)], cwd=ROOT, capture_output=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)
