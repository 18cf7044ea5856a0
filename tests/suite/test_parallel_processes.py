"""The suite runs in parallel test processes (pytest-xdist: ``bin/test``, ``.ci/run``). Each has its own
test databases and, in celery mode, its own Celery worker; a process that a test starts (that worker, a
gunicorn, ``manage.py``) must use the databases and the queue of the test process that started it, or
it would read another test's rows and take another test's deliveries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
SEEN = (
    "import json, django; django.setup()\n"
    "from django.conf import settings\n"
    "from commerce.celery import app\n"
    "print(json.dumps({'databases': {alias: config['NAME'] for alias, config in settings.DATABASES.items()},\n"
    "                  'queue': app.conf.task_default_queue}))\n"
)


def seen_by_a_started_process(settings, **env: str) -> dict:
    """What a process started the way the suite starts one (``COMMERCE_USE_TEST_DATABASES=1``) uses."""
    environment = {**os.environ, "COMMERCE_USE_TEST_DATABASES": "1", "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
    result = subprocess.run(
        [sys.executable, "-c", SEEN], cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.django_db
@pytest.mark.several_databases  # every context's database: in the split layout, six of them
def test_a_process_a_test_starts_uses_the_databases_and_the_queue_of_its_test_process(settings):
    from commerce.celery import app

    seen = seen_by_a_started_process(settings)

    assert seen["databases"] == {alias: connections[alias].settings_dict["NAME"] for alias in settings.DATABASES}
    assert seen["queue"] == app.conf.task_default_queue


def test_two_parallel_test_processes_share_no_database_and_no_queue(settings):
    first = seen_by_a_started_process(settings, PYTEST_XDIST_WORKER="gw0")
    second = seen_by_a_started_process(settings, PYTEST_XDIST_WORKER="gw1")

    assert first["databases"].keys() == second["databases"].keys() == settings.DATABASES.keys()
    for alias, name in first["databases"].items():
        assert name != second["databases"][alias], alias
    assert first["queue"] != second["queue"]
