"""Nothing slow in the customer's request: what a request publishes is delivered after its response.

Inline (the embedded default), a subscriber runs in the web process once the response has been sent;
with Celery it runs in a worker. Either way no handler runs while the customer waits, and the outbox
keeps every event safe: one whose deferred delivery never ran is delivered by the sweep.
"""

import logging
import threading
import urllib.request
import uuid

import pytest
from django.core.handlers.base import BaseHandler
from django.test import RequestFactory

from commerce.database import atomic_in
from commerce.eventbus import after_response, publish
from commerce.eventbus.dispatch import sweep
from commerce.eventbus.models import Delivery
from tests.eventbus.response import statements_around_the_response
from tests.eventbus.support import deliveries, sweep_due_now
from tests.probe_sink import handlers
from tests.probe_sink.events import Pinged
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)

PROBE_TABLES = ("probe_sink_probecounter", "eventbus_inboxentry")


@pytest.fixture(autouse=True)
def _probe_urls(settings):
    settings.ROOT_URLCONF = "tests.eventbus.urls"


@pytest.fixture
def inline(settings):
    settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}


@pytest.fixture
def handler_calls(monkeypatch):
    """Each probe handler's attempt in this process, with whether a request was still being served."""
    calls = []
    note = handlers._note_attempt

    def noted(key, subscription):
        calls.append(("handler", subscription, after_response.in_request()))
        return note(key, subscription)

    monkeypatch.setattr(handlers, "_note_attempt", noted)
    return calls


def new_key(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def delivered(key: str) -> bool:
    return ProbeCounter.objects.filter(key=f"{key}:count", count=1).exists()


def test_a_subscriber_runs_after_the_response_is_sent_and_before_the_client_returns(inline, client, handler_calls):
    key = new_key("after")
    seen_at_response = []
    with after_response.observe(lambda: seen_at_response.append(("response sent", list(handler_calls)))):
        response = client.post(f"/probe/ping?key={key}")

    assert response.status_code == 201
    assert seen_at_response == [("response sent", [])], "no handler ran before the response was sent"
    assert {subscription for _, subscription, _ in handler_calls} == {"count", "record"}
    assert not any(in_request for _, _, in_request in handler_calls)
    assert delivered(key), "delivered before client.post returned"


def test_the_subscribers_statements_are_not_among_those_the_customer_waits_for(inline, client):
    key = new_key("budget")
    with statements_around_the_response() as split:
        response = client.post(f"/probe/ping?key={key}")

    assert response.status_code == 201
    assert split.responses == 1
    in_request = [sql for statements in split.in_request.values() for sql in statements]
    after = [sql for statements in split.after_response.values() for sql in statements]
    assert any("eventbus_outboxmessage" in sql for sql in in_request), "the outbox row is written in the request"
    assert not [sql for sql in in_request if any(table in sql for table in PROBE_TABLES)]
    assert any("probe_sink_probecounter" in sql for sql in after), "the handlers ran after the response"
    assert any("eventbus_inboxentry" in sql for sql in after)
    assert delivered(key)


def test_a_streamed_response_delivers_once_the_stream_is_consumed(inline, client, handler_calls):
    key = new_key("stream")
    response = client.post(f"/probe/ping-streaming?key={key}")
    assert handler_calls == [], "nothing delivered while the body is still being sent"

    assert b"".join(response.streaming_content) == f"published {key}".encode()
    assert {subscription for _, subscription, _ in handler_calls} == {"count", "record"}
    assert delivered(key)


def test_publishing_outside_a_request_delivers_right_after_commit(inline, handler_calls):
    key = new_key("service")
    with atomic_in("probe"):
        publish(Pinged(key=key))
        assert handler_calls == []

    assert {subscription for _, subscription, _ in handler_calls} == {"count", "record"}
    assert delivered(key)


def test_an_event_a_handler_publishes_while_delivered_after_the_response_is_delivered_too(inline, client):
    """``count_when_pinged`` publishes ``Echoed``; its delivery follows at once, in the same after-phase."""
    key = new_key("chain")
    client.post(f"/probe/ping?key={key}")

    assert ProbeCounter.objects.filter(key__startswith=f"{key}:trace:").count() == 1
    assert not deliveries(status__in=["pending", "failed"], message__payload__key=key)


def test_a_failing_handler_after_the_response_is_recorded_for_a_retry_and_the_customer_never_sees_it(inline, client):
    key = new_key("failing")
    response = client.post(f"/probe/ping?key={key}&fail=5")

    assert response.status_code == 201
    (failed,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    assert (failed.status, failed.attempts) == (Delivery.Status.FAILED, 1)
    assert "probe failure 1 of 5" in failed.last_error


def test_deferred_delivery_whose_books_cannot_be_kept_is_logged_and_left_to_the_sweep(
    inline, client, monkeypatch, caplog
):
    from commerce.eventbus import delivery

    def database_gone(alias, delivery_ids):
        raise RuntimeError("database gone")

    monkeypatch.setattr(delivery, "deliver_many", database_gone)
    key = new_key("unbooked")
    with caplog.at_level(logging.ERROR, logger="commerce.eventbus.dispatch"):
        response = client.post(f"/probe/ping?key={key}")

    assert response.status_code == 201
    assert "could not be recorded" in caplog.text
    assert {d.status for d in deliveries(message__payload__key=key)} == {Delivery.Status.PENDING}


def test_work_that_fails_after_the_response_is_logged_and_the_rest_still_runs(caplog):
    pending = after_response._Pending()
    ran = []
    pending.work += [lambda: 1 / 0, lambda: ran.append("second")]
    with caplog.at_level(logging.ERROR, logger="commerce.eventbus.after_response"):
        pending.run()

    assert ran == ["second"]
    assert "ZeroDivisionError" in caplog.text


def test_an_event_whose_deferred_delivery_never_ran_is_delivered_by_the_sweep(inline, handler_calls):
    """The process dies after the response is sent and before it is closed: the deliveries deferred to
    then never run. Their rows were committed with the publisher's transaction; once the grace period
    has passed, the sweep delivers them. Late, never lost, and once."""
    key = new_key("orphan")
    handler = BaseHandler()
    handler.load_middleware()
    response = handler.get_response(RequestFactory().post(f"/probe/ping?key={key}"))
    assert response.status_code == 201
    del response  # never closed: the worker was killed with the deferred deliveries in its memory

    assert handler_calls == []
    owed = deliveries(message__payload__key=key)
    assert owed and {d.status for d in owed} == {Delivery.Status.PENDING}
    assert sweep() == 0, "within the grace period the sweep leaves them to the dispatch that owns them"

    sweep_due_now()  # the grace period passes; the periodic sweep runs

    assert {d.status for d in deliveries(message__payload__key=key)} == {Delivery.Status.DELIVERED}
    assert ProbeCounter.objects.get(key=f"{key}:count").count == 1
    assert ProbeCounter.objects.get(key=f"{key}:record").count == 1


def test_no_handler_runs_inside_the_request_in_any_dispatch_mode(client, handler_calls, settle_events):
    """Inline, handlers run here after the response; with Celery, in the worker (never in this process)."""
    from django.conf import settings

    key = new_key("anymode")
    at_response = []
    with after_response.observe(lambda: at_response.append(list(handler_calls))):
        assert client.post(f"/probe/ping?key={key}").status_code == 201
    settle_events()

    assert at_response == [[]]
    if settings.EVENTBUS["DISPATCH"] == "celery":
        assert handler_calls == [], "no handler ran in the web process"
    assert not any(in_request for _, _, in_request in handler_calls)
    assert delivered(key)


def test_a_slow_subscriber_never_holds_the_customers_response(inline, live_server, monkeypatch):
    """A real server: the client has read the whole response while the subscriber is still at work."""
    from commerce.eventbus import dispatch

    key = new_key("slow")
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    note, deliver_inline = handlers._note_attempt, dispatch._deliver_inline
    depth = threading.local()

    def slow(event_key, subscription):
        if event_key == key and subscription == "count":
            started.set()
            release.wait(timeout=30)
        return note(event_key, subscription)

    def delivering(alias, delivery_ids):  # the outermost delivery returns last (Echoed goes inside it)
        depth.value = getattr(depth, "value", 0) + 1
        try:
            deliver_inline(alias, delivery_ids)
        finally:
            depth.value -= 1
            if depth.value == 0 and started.is_set():
                finished.set()

    monkeypatch.setattr(handlers, "_note_attempt", slow)
    monkeypatch.setattr(dispatch, "_deliver_inline", delivering)
    try:
        request = urllib.request.Request(f"{live_server.url}/probe/ping?key={key}", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, body = answer.status, answer.read()
        assert status == 201 and key.encode() in body, "the whole response arrived"
        assert started.wait(timeout=30), "the subscriber started after the response"
        assert not finished.is_set(), "and was still at work when the customer had the answer"
    finally:
        release.set()
    assert finished.wait(timeout=30)
    assert delivered(key)


def test_under_asgi_deliveries_follow_the_last_body_message(inline, handler_calls):
    """``commerce.asgi``: Django closes the response after sending its last body message, in the
    thread that ran the view, so the deferred deliveries use (and leave) that thread's connections."""
    import asyncio

    from commerce.asgi import application

    key = new_key("asgi")
    sent = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/probe/ping",
        "raw_path": b"/probe/ping",
        "root_path": "",
        "query_string": f"key={key}".encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        disconnected = asyncio.Event()
        requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

        async def receive():
            try:
                return next(requests)
            except StopIteration:
                await disconnected.wait()  # the client stays until the server is done
                return {"type": "http.disconnect"}

        async def send(message):
            sent.append((message["type"], message.get("more_body", False)))

        await application(scope, receive, send)

    opened = _connections_to_the_database()
    with after_response.observe(lambda: sent.append(("response sent", len(handler_calls)))):
        asyncio.run(run())

    assert sent == [("http.response.start", False), ("http.response.body", False), ("response sent", 0)]
    assert _settles_at(opened), "the view's thread closed what it and its deliveries opened"
    assert {subscription for _, subscription, _ in handler_calls} == {"count", "record"}
    assert delivered(key)


def _connections_to_the_database() -> int | None:
    """PostgreSQL's count of connections to the test database (None elsewhere: SQLite has no server)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _settles_at(opened: int | None) -> bool:
    """A closed connection's server process leaves ``pg_stat_activity`` a moment after the close."""
    for _ in range(100):
        if _connections_to_the_database() == opened:
            return True
        threading.Event().wait(0.05)
    return False


def test_the_deferred_deliveries_leave_no_database_connection_open(inline, postgresql_only, handler_calls):
    """A real WSGI round (not the test client, which keeps connections for the test): the deliveries
    run when the server closes the response, before ``request_finished`` closes every connection."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    key = new_key("connections")
    for connection in connections.all():
        connection.close()
    application = WSGIHandler()
    body = application(RequestFactory().post(f"/probe/ping?key={key}").environ, lambda status, headers: None)
    assert b"".join(body) and handler_calls == []

    body.close()  # what the server does once the body is written

    assert {subscription for _, subscription, _ in handler_calls} == {"count", "record"}
    assert [c.alias for c in connections.all(initialized_only=True) if c.connection is not None] == []
    assert delivered(key)
