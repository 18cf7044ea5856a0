"""Test-suite plumbing shared by every context's tests and the cross-context ones."""

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

# --- No test leaves files behind -----------------------------------------------------------------
# Scratch files of a test run (the probe's attempt counters, a test worker's log) go to one temporary
# directory, removed when the session ends; anything new in ``var/`` after the run fails it. Under
# pytest-xdist each test process makes its own (the controller's environment, which the test processes
# inherit, names the controller's): probe keys and the Celery worker's log would otherwise collide.

_SCRATCH_ENV = "PROBE_ATTEMPTS_DIR"


def _var_files() -> set[Path]:
    """Files in ``var/``, except what the development settings make as any process starts: the development
    databases (``manage.py`` run beside the tests makes them; the tests' databases are in memory or
    ``test_…``) and the development JWT signing key (another run's settings beside this one, e.g. .ci/run's
    newest-Python stage under ``var/newest`` while its Celery stage runs, make their own)."""
    key_name = settings.JWT_DEVELOPMENT_KEY_FILE.name
    return {
        path
        for path in settings.VAR_DIR.rglob("*")
        if path.is_file() and not path.name.startswith("commerce") and path.name != key_name
    }


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(_SCRATCH_ENV) or hasattr(config, "workerinput"):
        os.environ[_SCRATCH_ENV] = tempfile.mkdtemp(prefix="commerce-test-scratch-")
        config._commerce_scratch = os.environ[_SCRATCH_ENV]
    # Processes the tests start (a server, a Celery worker) write development mail and keep their file cache
    # there too, not in var/ (a test that wants another cache names its own CACHE_URL).
    os.environ["EMAIL_FILE_PATH"] = os.path.join(os.environ[_SCRATCH_ENV], "mail")
    if not os.environ.get("CACHE_URL"):
        os.environ["CACHE_URL"] = "file://" + os.path.join(os.environ[_SCRATCH_ENV], "cache")


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._commerce_var_files = _var_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = getattr(session.config, "_commerce_var_files", None)
    if before is None or getattr(session.config, "workerinput", None) is not None:
        return
    left = sorted(str(path.relative_to(settings.VAR_DIR)) for path in _var_files() - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"The tests left {len(left)} file(s) behind in {settings.VAR_DIR}: {', '.join(left[:10])}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    scratch = getattr(config, "_commerce_scratch", None)
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
        os.environ.pop(_SCRATCH_ENV, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every database test may touch every context's database.

    In split mode each context has its own alias; a test that walks a journey across contexts needs
    them all, so ``django_db`` markers are widened to ``databases="__all__"`` here, once, instead of
    in every test.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or "databases" in marker.kwargs:
            continue
        item.add_marker(pytest.mark.django_db(*marker.args, **{**marker.kwargs, "databases": "__all__"}), append=False)
    _one_at_a_time_under_xdist(items)
    for item in items:
        _classify(item)


def _one_at_a_time_under_xdist(items: list[pytest.Item]) -> None:
    """The ``postgres`` tests open many connections at once (16 threads, each on up to six databases in
    split mode), sized to fit PostgreSQL's default 100 with one test process. Under pytest-xdist with
    ``--dist loadgroup`` (as bin/test and .ci/run run it) they all go to one test process, so two of them
    never run together and refuse each other's clients; the other test processes hold only a few
    connections each."""
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.xdist_group("postgres-parallel-connections"))


# --- Which CI stages run a test (tools/ci_stages.py, docs/ci.md) ----------------------------------------
# Each test runs where its result can differ. These markers say what a test uses, read from its markers,
# its fixtures and its module, so a new test is classified without anyone listing it. A test may also
# carry one by hand (``@pytest.mark.bus``) when it needs a stage the rules below cannot see.

_DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}
_COMMITTING_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences"}
_DELIVERING_FIXTURES = {"settle_events", "celery_worker_process", "django_capture_on_commit_callbacks"}
_SEVERAL_DATABASES_FIXTURES = {"context_connection", "postgresql_only"}


_PER_CONTEXT_PREFIXES = ("contexts.", "commerce.eventbus", "commerce.idempotency")


def _contexts_used_by_module(module: object, *, depth: int = 2) -> set[str]:
    """The packages (``contexts.<name>``, ``commerce.eventbus``, ``commerce.idempotency``) whose objects the
    test's module holds: what it imports, the models of the factories it imports, and, ``depth`` levels
    down, what the test helpers it imports (``tests.…`` modules, e.g. ``tests.support.checkout``'s shop)
    hold themselves: a helper that builds a shop across contexts must not hide them."""
    used = set()
    for value in vars(module).values():
        model = getattr(getattr(value, "_meta", None), "model", None)  # a factory_boy factory
        for source in (value, model):
            name = source.__name__ if isinstance(source, type(contextlib)) else getattr(source, "__module__", None)
            if not isinstance(name, str):
                continue
            if name.startswith(_PER_CONTEXT_PREFIXES):
                used.add(".".join(name.split(".")[:2]))
            elif depth and name.startswith("tests.") and name != getattr(module, "__name__", None):
                helper = sys.modules.get(name)
                if helper is not None:
                    used |= _contexts_used_by_module(helper, depth=depth - 1)
    return used


def _modules_of(item: pytest.Item) -> list[object]:
    """The test's module and the modules of the fixtures it uses (a conftest's set-up may span contexts)."""
    modules = [getattr(item, "module", None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    for definitions in fixture_info.name2fixturedefs.values() if fixture_info else ():
        function = getattr(definitions[-1], "func", None)
        modules.append(sys.modules.get(getattr(function, "__module__", "")))
    return [module for module in modules if module is not None]


def _classify(item: pytest.Item) -> None:
    """``database``: uses the database. ``transactional``: its transactions really commit.
    ``bus``: can deliver an event (commits, settles or captures deliveries, or uses commerce.eventbus).
    ``several_databases``: can reach more than one context's database (``bus``, ``postgres``, a
    ``context_connection`` or ``postgresql_only`` test, or a module using two or more contexts).
    ``browser``: drives Chromium. ``resilience``: starts real servers and workers (tests/resilience).
    ``rabbitmq``: uses the real RabbitMQ (the ``broker`` fixture of tests/eventbus/relay, or ``rabbitmq``).
    ``topology``: starts deployables of a lifted topology (tests/topologies: the service, the gateway)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    database = marker is not None or bool(fixtures & _DATABASE_FIXTURES)
    transactional = bool(fixtures & _COMMITTING_FIXTURES) or bool(marker and marker.kwargs.get("transaction"))
    used = set()
    for module in _modules_of(item):
        used |= _contexts_used_by_module(module)
    bus = transactional or bool(fixtures & _DELIVERING_FIXTURES) or "commerce.eventbus" in used
    bus = bus or item.get_closest_marker("celery") is not None
    several = bus or item.get_closest_marker("postgres") is not None or bool(fixtures & _SEVERAL_DATABASES_FIXTURES)
    several = several or len(used - {"commerce.eventbus"}) >= 2 or "commerce.idempotency" in used
    for name, applies in (
        ("rabbitmq", bool(fixtures & {"broker", "rabbitmq"})),
        ("topology", "topologies" in item.path.parts),
        ("database", database),
        ("transactional", transactional),
        ("bus", bus and database),
        ("several_databases", several and database),
        ("browser", "chromium" in fixtures),
        ("resilience", "resilience" in item.path.parts),
    ):
        if applies and item.get_closest_marker(name) is None:
            item.add_marker(name)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def postgresql_only() -> None:
    """Concurrency tests need real row locks. Under CI a missing PostgreSQL is a failure, not a skip;
    the SQLite stage of CI is the one place they are skipped by design (``REQUIRE_POSTGRESQL`` unset)."""
    if not on_postgresql():
        if os.environ.get("REQUIRE_POSTGRESQL") == "1":
            pytest.fail("This test needs PostgreSQL and REQUIRE_POSTGRESQL=1 is set.")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def _available_or_skip(what: str, available: bool, required_by: str) -> None:
    """Skip a test whose real part is missing here; under CI (``required_by=1``) fail it instead."""
    if available:
        return
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{what} is missing and {required_by}=1 is set.")
    pytest.skip(f"needs {what}")


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """The real RabbitMQ's URL (``EVENTS_BROKER_URL``). The embedded default needs no broker, so on a
    machine without one these tests skip, unless ``REQUIRE_RABBITMQ=1`` (CI)."""
    from commerce.eventbus.remote import amqp as port

    try:
        port.connect(timeout=2).close()
        answers = True
    except port.CONNECTION_ERRORS:
        answers = False
    _available_or_skip(f"RabbitMQ at {settings.EVENTS_BROKER_URL}", answers, "REQUIRE_RABBITMQ")
    return settings.EVENTS_BROKER_URL


@pytest.fixture(scope="session")
def nginx() -> str:
    """Debian's nginx, for the gateway's tests (``bin/shop`` installs it for a lifted topology; the
    embedded default does not need it): skipped where it is missing, unless ``REQUIRE_NGINX=1`` (CI)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else "")
    _available_or_skip("nginx (apt-get install nginx)", bool(found), "REQUIRE_NGINX")
    return found


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def customer(db):
    from tests.identity.factories import CustomerFactory

    return CustomerFactory()


@pytest.fixture
def customer_client(api_client, customer):
    from rest_framework_simplejwt.tokens import RefreshToken

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(customer).access_token}")
    api_client.customer = customer
    return api_client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def eventbus_settings():
    return settings.EVENTBUS


# --- Event delivery ------------------------------------------------------------------------------
# Cross-context tests publish in one context and assert on another's state. They run with
# ``@pytest.mark.django_db(transaction=True)`` (a worker can only see committed rows) and call
# ``settle_events()`` before asserting: in inline mode delivery already happened at commit; in celery
# mode a real worker, started once per session against the test databases, delivers, and
# ``settle_events`` waits for it.


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real ``celery worker`` subprocess on the test databases, for the celery dispatch mode."""
    if settings.EVENTBUS["DISPATCH"] != "celery":
        yield None
        return
    from tests.support.worker import running_worker

    with running_worker() as process:
        yield process


@pytest.fixture(autouse=True)
def _quiet_worker_before_flush(request):
    """In celery mode the real worker (in any mode, a live server's work after its response) may still be
    delivering a transactional test's events when pytest-django truncates every table after it; a TRUNCATE
    racing those writes deadlocks. Give them a moment to finish first (best effort: a delivery still
    retrying later is left)."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
    transactional = transactional or "live_server" in request.fixturenames
    if transactional:
        # a live server sends its response before it delivers what the request published (after_response):
        # the client, and so the test, may be done first
        from commerce.eventbus import after_response

        after_response.wait_until_idle(timeout=10.0)
    if settings.EVENTBUS["DISPATCH"] != "celery" or not transactional:
        return
    from tests.support.worker import wait_until_delivered

    with contextlib.suppress(AssertionError):
        wait_until_delivered(timeout=5.0)


@pytest.fixture
def settle_events(celery_worker_process):
    from tests.support.worker import wait_until_delivered

    def settle(timeout: float = 30.0) -> None:
        wait_until_delivered(timeout=timeout)

    return settle


@pytest.fixture
def context_connection():
    """The connection of one context's database, for ``django_assert_num_queries(connection=...)``:
    in split mode a context's queries do not run on ``default``."""
    from django.db import connections

    from commerce.database import database_for

    return lambda context: connections[database_for(context)]
