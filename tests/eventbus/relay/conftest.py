"""The relay's tests run against the machine's real RabbitMQ, each under a topology prefix of its own
(declared for the test, deleted after it), so parallel runs never share an exchange or a queue.

Without a broker they skip, unless ``REQUIRE_RABBITMQ=1`` (CI), where a missing broker fails them.
They carry the ``rabbitmq`` marker (``conftest._classify``: they use the ``broker`` fixture).
"""

import os
import uuid
from contextlib import contextmanager

import pytest
from django.conf import settings as django_settings

from commerce.eventbus.remote import amqp as port
from tests.eventbus.relay import events  # noqa: F401  (registers the test-only events and subscriber)

LIFTED_CONTEXT = "probe_sink"


def _broker_answers() -> bool:
    try:
        port.connect(timeout=2).close()
    except port.CONNECTION_ERRORS:
        return False
    return True


@pytest.fixture
def broker(settings):
    """A topology of this test's own on the real broker: ``probe_sink`` lifted and consuming."""
    if not _broker_answers():
        if os.environ.get("REQUIRE_RABBITMQ") == "1":
            pytest.fail(f"RabbitMQ does not answer at {django_settings.EVENTS_BROKER_URL} and REQUIRE_RABBITMQ=1.")
        pytest.skip("needs RabbitMQ (EVENTS_BROKER_URL)")
    prefix = settings.EVENTS_TOPOLOGY_PREFIX = f"test-relay-{uuid.uuid4().hex[:12]}"
    settings.LIFTED = frozenset({LIFTED_CONTEXT})
    port.declare([LIFTED_CONTEXT])
    yield port.names()
    port.delete([LIFTED_CONTEXT], prefix=prefix)  # what this test declared, whatever it set since


@pytest.fixture
def as_service(settings):
    """Run a block as the lifted context's own process would (``SERVED_BY``: it is local there)."""

    @contextmanager
    def serving():
        before = settings.SERVED_BY
        settings.SERVED_BY = LIFTED_CONTEXT
        try:
            yield
        finally:
            settings.SERVED_BY = before

    return serving
