#!/usr/bin/env python3
"""The strangler gateway: nginx (Debian's package) configured from ``deploy/gateway/nginx.conf.template``.

    tools/gateway.py render --monolith HOST:PORT --notifications HOST:PORT [options]   print the config
    tools/gateway.py run    --monolith HOST:PORT --notifications HOST:PORT [options]   write it, check it,
                                                                                        run nginx in the foreground
    tools/gateway.py share PERCENT [--prefix DIR]     move traffic: re-render with another share and reload
                                                      the running gateway (no request is dropped)

It listens on ``--listen`` (``HOST:PORT`` from the environment, 127.0.0.1:8000 by default) and sends
``NOTIFICATIONS_SHARE`` percent (``--share``) of ``/api/v1/me/notifications`` to the notifications service,
everything else to the monolith. nginx's pid, logs, temporary files and the rendered config live under
``--prefix`` (``var/gateway``): nothing is written outside it, and no system service is involved. Started
as root, nginx's workers run as ``nobody`` where nobody can reach the prefix. ``bin/shop`` installs nginx
when it is missing and runs this with ``LIFTED=notifications``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "gateway" / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
ADDRESS = re.compile(r"^[\w.\-\[\]:]+:\d{1,5}$")


def nginx_binary() -> str:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise SystemExit("nginx is not installed: apt-get install -y nginx (bin/shop does it for you)")
    return found


def split(share: int) -> str:
    """The ``split_clients`` entries for ``share`` percent to the service (nginx refuses a 0% entry)."""
    if not 0 <= share <= 100:
        raise SystemExit(f"the share is a percentage, 0 to 100: {share}")
    if share == 0:
        return "        * monolith;"
    if share == 100:
        return "        * notifications;"
    return f"        {share}% notifications;\n        * monolith;"


def _worker_user(prefix: Path) -> str:
    """Whom nginx's workers run as. Started by a user, that user (nginx cannot switch). Started by root, as
    ``nobody`` when nobody can reach the prefix (they write request bodies there), else as root, like every
    other process bin/shop started (a checkout under /root is not open to others)."""
    if os.geteuid() != 0:
        return ""
    import grp

    reachable = all(os.stat(path).st_mode & 0o001 for path in [prefix.resolve(), *prefix.resolve().parents])
    if not reachable:
        return "user root root;"
    try:
        group = grp.getgrnam("nogroup").gr_name
    except KeyError:
        group = "nobody"
    return f"user nobody {group};"


def render(
    *,
    monolith: str,
    notifications: str,
    listen: str,
    share: int,
    prefix: Path,
    workers: int = 1,
    max_body_size: str = "64m",
    read_timeout: str = "60s",
    metrics_token_set: bool = False,
) -> str:
    for name, address in (("monolith", monolith), ("notifications", notifications), ("listen", listen)):
        if not ADDRESS.match(address):
            raise SystemExit(f"--{name} must be HOST:PORT, not {address!r}")
    values = {
        "user": _worker_user(prefix),
        "workers": str(workers),
        "prefix": str(prefix.resolve()),
        "max_body_size": max_body_size,
        "read_timeout": read_timeout,
        "monolith": monolith,
        "notifications": notifications,
        "listen": listen,
        "notifications_split": split(share),
        # Without METRICS_TOKEN the shop lets loopback in, and behind the gateway everyone is loopback:
        # the gateway then refuses every remote client, whatever it sends.
        "metrics_credentials": "$http_authorization" if metrics_token_set else "",
    }
    template = TEMPLATE.read_text()
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise SystemExit(f"{TEMPLATE} names {missing}, which tools/gateway.py does not fill in")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def write(prefix: Path, parameters: dict) -> Path:
    """Render into ``prefix/nginx.conf`` (the parameters kept beside it for ``share``) and make nginx's dirs."""
    for name in TEMP_DIRS:
        (prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)  # nginx -p expects it, whatever the config says
    if os.geteuid() == 0:  # the workers write request bodies and buffered answers here
        import pwd

        owner = pwd.getpwnam("nobody") if "nobody" in _worker_user(prefix) else pwd.getpwuid(0)
        for name in TEMP_DIRS:
            os.chown(prefix / "temp" / name, owner.pw_uid, owner.pw_gid)
    config = prefix / "nginx.conf"
    config.write_text(render(prefix=prefix, **parameters))
    (prefix / "gateway.json").write_text(json.dumps(parameters, indent=2) + "\n")
    return config


def check(prefix: Path, config: Path) -> None:
    result = subprocess.run(
        [
            nginx_binary(),
            "-t",
            "-q",
            "-p",
            str(prefix.resolve()),
            "-e",
            str(prefix.resolve() / "error.log"),
            "-c",
            str(config.resolve()),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"nginx refuses {config}:\n{result.stderr}")


def _children(pid: int) -> set[int]:
    """nginx's worker processes (Linux's /proc; elsewhere none are known and the reload is not waited for)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def _wait_for_exit(pids: set[int], seconds: float = 60) -> None:
    """Until the workers of the old configuration are gone: from then on every request gets the new share."""
    deadline = time.monotonic() + seconds
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if Path(f"/proc/{pid}").exists()}
        time.sleep(0.05)
    if pids:
        print(f"gateway: workers {sorted(pids)} of the old configuration still finish their requests", file=sys.stderr)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("render", "run"):
        command = commands.add_parser(name)
        command.add_argument("--monolith", required=True, help="HOST:PORT of the monolith")
        command.add_argument("--notifications", required=True, help="HOST:PORT of the notifications service")
        command.add_argument(
            "--listen",
            default=f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}",
            help="HOST:PORT the gateway listens on (default: $HOST:$PORT, 127.0.0.1:8000)",
        )
        command.add_argument(
            "--share",
            type=int,
            default=int(os.environ.get("NOTIFICATIONS_SHARE") or 100),
            help="percent of notifications' requests sent to the service (default: $NOTIFICATIONS_SHARE, 100)",
        )
        command.add_argument("--prefix", type=Path, default=ROOT / "var" / "gateway")
        command.add_argument("--workers", type=int, default=1)
    share = commands.add_parser("share")
    share.add_argument("percent", type=int)
    share.add_argument("--prefix", type=Path, default=ROOT / "var" / "gateway")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    prefix = args.prefix
    if args.command == "share":
        parameters = json.loads((prefix / "gateway.json").read_text())
        parameters["share"] = args.percent
        config = write(prefix, parameters)
        check(prefix, config)
        pid = int((prefix / "nginx.pid").read_text())
        old_workers = _children(pid)
        os.kill(pid, signal.SIGHUP)  # nginx re-reads its config; old workers finish what they serve, then exit
        _wait_for_exit(old_workers)
        print(f"gateway: {args.percent}% of notifications' requests to the service from now on")
        return
    parameters = {
        "monolith": args.monolith,
        "notifications": args.notifications,
        "listen": args.listen,
        "share": args.share,
        "workers": args.workers,
        "metrics_token_set": bool(os.environ.get("METRICS_TOKEN")),
    }
    if args.command == "render":
        print(render(prefix=prefix, **parameters), end="")
        return
    prefix.mkdir(parents=True, exist_ok=True)
    config = write(prefix, parameters)
    check(prefix, config)
    nginx = nginx_binary()
    sys.stdout.flush()
    # exec: SIGTERM from whoever started us reaches nginx itself (fast shutdown), as does SIGQUIT (graceful).
    os.execv(
        nginx,
        [nginx, "-p", str(prefix.resolve()), "-e", str(prefix.resolve() / "error.log"), "-c", str(config.resolve())],
    )


if __name__ == "__main__":
    main()
