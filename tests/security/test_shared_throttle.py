"""OWASP API4:2023: the login throttle is counted in a cache every server process shares.

Without any cache configured, the default is files under ``var/cache`` that every process of the machine
reads (gunicorn's workers, bin/shop's processes): the limit is the setting, not the setting per worker
(issue 22: two workers let 20 guesses a minute through a limit of 10).

Two separate gunicorn servers (one worker each, as two pods or two workers would be) point at the same
Redis through ``CACHE_URL``. An attacker who spreads guesses over both must still meet the limit after
the number of attempts the setting allows in all, not that number per process. Runs where a Redis is
configured for the suite (``CACHE_URL`` or a ``redis://`` ``CELERY_BROKER_URL``, as in CI's Celery
stage) and the test database is PostgreSQL, which the servers can reach.
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.support.processes import run_python, running_gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT = 4


def shared_redis_url() -> str:
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith("redis://"):
            return url
    pytest.skip("no Redis configured for this run (CACHE_URL or a redis:// CELERY_BROKER_URL)")


def suite_database_url() -> str:
    """The test database, which the servers must use: only PostgreSQL's is reachable from another process."""
    if connection.vendor != "postgresql":
        pytest.skip("the servers need the suite's database over the network: PostgreSQL only")
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def wrong_login(base: str) -> tuple[int, dict]:
    body = json.dumps({"email": "nobody@example.com", "password": "a-wrong-guess"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def guesses_over_two_servers(cache_url: str) -> list[tuple[int, dict]]:
    """``LIMIT + 2`` wrong logins, taking turns between two servers (one worker each) on ``cache_url``."""
    environment = {
        "CACHE_URL": cache_url,
        "DATABASE_URL": suite_database_url(),
        "DATABASE_SPLIT": "",
        "EVENTBUS_DISPATCH": "inline",
        "THROTTLE_AUTH_TOKEN": f"{LIMIT}/min",
    }
    with (
        running_gunicorn(workers=1, **environment) as (_, first),
        running_gunicorn(workers=1, **environment) as (_, second),
    ):
        servers = [first, second]
        return [wrong_login(servers[attempt % 2]) for attempt in range(LIMIT + 2)]


def test_guesses_spread_over_two_server_processes_meet_one_limit():
    import redis

    cache_url = shared_redis_url()
    # Start from a clean count for this client: an earlier run's attempts must not decide this one.
    client = redis.Redis.from_url(cache_url)
    for key in client.scan_iter(match="*throttle_auth_token_*"):
        client.delete(key)
    answers = guesses_over_two_servers(cache_url)

    statuses = [status for status, _ in answers]
    # Each server saw only half the guesses; a per-process count would have let all of them through.
    assert statuses[:LIMIT] == [401] * LIMIT, statuses
    assert statuses[LIMIT:] == [429, 429], statuses
    assert all(int(headers["Retry-After"]) > 0 for _, headers in answers[LIMIT:])


GUESSES_IN_ONE_PROCESS = (
    "import django, json; django.setup()\n"
    "from django.test import RequestFactory\n"
    "from rest_framework.request import Request\n"
    "from rest_framework.throttling import ScopedRateThrottle\n"
    "class TokenView:\n"
    "    throttle_scope = 'auth_token'\n"
    "answers = []\n"
    "for _ in range(6):\n"
    "    request = Request(RequestFactory().post('/api/v1/auth/token', REMOTE_ADDR='203.0.113.9'))\n"
    "    answers.append(ScopedRateThrottle().allow_request(request, TokenView()))\n"
    "print(json.dumps(answers))\n"
)


def test_without_a_cache_configured_two_processes_count_login_guesses_together(tmp_path):
    """No Redis, no CACHE_URL: two processes of the shop (two gunicorn workers) share the count."""
    environment = {"COMMERCE_VAR_DIR": str(tmp_path), "CACHE_URL": "", "THROTTLE_AUTH_TOKEN": "10/min"}
    first = json.loads(run_python(GUESSES_IN_ONE_PROCESS, **environment).stdout)
    second = json.loads(run_python(GUESSES_IN_ONE_PROCESS, **environment).stdout)
    assert first == [True] * 6
    assert second == [True] * 4 + [False] * 2, "the second process knew of the first one's guesses"
    assert any((tmp_path / "cache").iterdir()), "the count lives in files under var/cache"


def test_guesses_spread_over_two_servers_meet_one_limit_with_the_file_cache(tmp_path):
    """The same as with Redis, on a file cache two servers of one machine share (``CACHE_URL=file://…``)."""
    answers = guesses_over_two_servers(f"file://{Path(tmp_path) / 'cache'}")
    assert [status for status, _ in answers] == [401] * LIMIT + [429, 429]
