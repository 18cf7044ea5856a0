"""Tracing with OpenTelemetry (issue 14 points 3 and 5): spans around the contexts' api, one trace
from an HTTP request through the outbox to the handlers, trace ids in the JSON log lines, and a
collector that is down costing nothing but one warning. Spans are read from an in-memory exporter."""

import json
import logging

import pytest
from django.test import Client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from commerce import telemetry
from commerce.eventbus.models import Delivery, OutboxMessage
from tests.support.processes import run_python


@pytest.fixture
def spans(monkeypatch):
    """Tracing on in this process, every finished span kept in memory."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")  # "on"; the provider below replaces its exporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.install(provider)
    yield exporter
    telemetry.uninstall()


def named(exporter, prefix: str) -> list:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


def test_tracing_is_off_by_default(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)

    assert telemetry.enabled() is False
    assert telemetry.configure() is False
    assert telemetry.current_trace_context() == {}


@pytest.mark.django_db
def test_every_call_of_a_contexts_api_is_a_span_named_context_function(spans):
    from contexts.inventory import api as inventory_api
    from contexts.pricing import api as pricing_api

    pricing_api.prices_for(skus=["NOPE-1"], currency="EUR")
    with pytest.raises(pricing_api.UnsupportedCurrency):
        pricing_api.prices_for(skus=["NOPE-1"], currency="XXX")
    inventory_api.get_availability(skus=["NOPE-1"])

    names = [span.name for span in spans.get_finished_spans()]
    assert names.count("pricing.prices_for") == 2
    assert "inventory.get_availability" in names
    failed = [s for s in named(spans, "pricing.prices_for") if s.status.status_code.name == "ERROR"]
    assert len(failed) == 1 and failed[0].attributes.get("commerce.error.code")


def test_wrapping_keeps_the_api_signatures():
    import inspect

    from contexts.pricing import api as pricing_api

    before = inspect.signature(pricing_api.set_base_price)
    provider = TracerProvider()
    telemetry.install(provider)
    try:
        assert pricing_api.set_base_price.__wrapped__ is not None
        assert inspect.signature(pricing_api.set_base_price) == before
        assert pricing_api.set_base_price.__doc__.startswith("Create or change the base price")
    finally:
        telemetry.uninstall()
    assert not hasattr(pricing_api.set_base_price, "__wrapped__")


@pytest.mark.django_db(transaction=True)
def test_one_trace_runs_from_the_request_through_the_outbox_to_the_handler(spans, settings, settle_events):
    from django.db import connections

    settings.ROOT_URLCONF = "tests.ops.urls"
    connections.close_all()  # new connections are made through the instrumented psycopg

    response = Client().get("/ops-test/price/TRACE-1", {"amount": "12.50"})
    assert response.status_code == 200
    settle_events()

    (request,) = [s for s in spans.get_finished_spans() if s.kind.name == "SERVER"]
    (api_call,) = named(spans, "pricing.set_base_price")
    message = OutboxMessage.objects.using(settings.CONTEXT_DATABASES["pricing"]).get(event_type="pricing.PriceChanged")
    assert message.trace_context["traceparent"].split("-")[1] == format(request.context.trace_id, "032x")

    if settings.EVENTBUS["DISPATCH"] != "inline":
        return  # a Celery worker delivered it: its spans are its own process's (see the next test)
    (delivery,) = named(spans, "deliver catalogue.")
    assert api_call.context.trace_id == request.context.trace_id == delivery.context.trace_id
    assert api_call.parent.span_id in {s.context.span_id for s in spans.get_finished_spans()}
    assert delivery.kind.name == "CONSUMER"
    assert delivery.attributes["commerce.event.type"] == "pricing.PriceChanged"
    if connections["default"].vendor == "postgresql":
        # The handler's own queries (psycopg spans) are inside the delivery's span.
        inside = [s for s in spans.get_finished_spans() if s.parent and s.parent.span_id == delivery.context.span_id]
        assert [s for s in inside if s.attributes.get("db.system") == "postgresql"], "the handler's queries"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_in_another_process_continues_the_trace_stored_in_the_outbox(spans, settings, monkeypatch):
    """What a Celery worker or the sweep does: deliver later, with nothing of the request in memory."""
    from opentelemetry import context as otel_context

    import commerce.eventbus.dispatch as dispatch_module
    from commerce.eventbus.delivery import deliver_many

    settings.ROOT_URLCONF = "tests.ops.urls"
    held = []  # nothing is delivered at commit: the deliveries are held for "another process"
    monkeypatch.setattr(dispatch_module, "dispatch", lambda alias, ids: held.append((alias, list(ids))))

    assert Client().get("/ops-test/price/TRACE-2", {"amount": "9.99"}).status_code == 200
    (request,) = [s for s in spans.get_finished_spans() if s.kind.name == "SERVER"]

    token = otel_context.attach(otel_context.Context())  # a fresh process: no current span
    try:
        for alias, ids in held:
            deliver_many(alias, ids)
    finally:
        otel_context.detach(token)

    (delivery,) = named(spans, "deliver catalogue.")
    assert delivery.context.trace_id == request.context.trace_id
    assert Delivery.objects.using(held[0][0]).filter(pk__in=held[0][1], status="delivered").count() == len(held[0][1])


@pytest.mark.django_db
def test_json_log_lines_carry_the_trace_and_span_ids_when_tracing_is_on(spans, caplog):
    from commerce.logging import CorrelationFilter, JsonFormatter

    record = logging.LogRecord("shop", logging.INFO, __file__, 1, "inside", None, None)
    with telemetry.tracer().start_as_current_span("work") as span:
        CorrelationFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))

    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")

    outside = logging.LogRecord("shop", logging.INFO, __file__, 1, "outside", None, None)
    CorrelationFilter().filter(outside)
    assert "trace_id" not in json.loads(JsonFormatter().format(outside))


def test_spans_reach_an_otlp_collector_over_grpc(tmp_path):
    """``OTEL_TRACES_EXPORTER=otlp`` sends to a collector's OTLP/gRPC endpoint (4317): here a real gRPC server
    implementing the collector's trace service receives the request's span."""
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    received: list[str] = []

    class Collector(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):  # the protocol names it so
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    received.extend(span.name for span in scope_spans.spans)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Collector(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        script = (
            "import django; django.setup()\n"
            "from django.test import Client\n"
            "from commerce import telemetry\n"
            "assert telemetry.configure()\n"
            "assert Client().get('/health/live').status_code == 200\n"
            "assert telemetry._state['provider'].force_flush(10000)\n"
        )
        run_python(
            script,
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}",
            COMMERCE_VAR_DIR=str(tmp_path),
        )
    finally:
        server.stop(grace=None)
    assert any("health" in name or name.startswith("GET") for name in received), received


def test_a_collector_that_is_down_costs_one_warning_and_the_shop_keeps_serving(tmp_path):
    """OTLP to a port nobody listens on: requests answer, spans are dropped, one warning is logged."""
    script = (
        "import django, logging, time; django.setup()\n"
        "from django.test import Client\n"
        "from commerce import telemetry\n"
        "assert telemetry.configure()\n"
        "started = time.monotonic()\n"
        "codes = [Client().get('/health/live').status_code for _ in range(20)]\n"
        "elapsed = time.monotonic() - started\n"
        "from opentelemetry import trace\n"
        "telemetry._state['provider'].force_flush(5000)\n"
        "for _ in range(3):\n"
        "    [Client().get('/health/live') for _ in range(5)]\n"
        "    telemetry._state['provider'].force_flush(5000)\n"
        "print('RESULT', codes.count(200), round(elapsed, 2))\n"
    )
    result = run_python(
        script,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_TIMEOUT="1",
        LOG_LEVEL="WARNING",
    )
    served, elapsed = result.stdout.split("RESULT")[1].split()
    assert served == "20"
    assert float(elapsed) < 10  # export runs beside the requests, not in them
    warnings = [line for line in result.stderr.splitlines() if "spans could not be sent" in line]
    assert len(warnings) == 1, result.stderr[-3000:]


@pytest.mark.django_db(transaction=True)
def test_with_tracing_on_a_broker_that_is_down_loses_nothing_and_blocks_nothing(settings):
    """Celery dispatch to a broker nobody answers: the change commits, the delivery waits in the outbox
    with its trace context for the sweep, and the caller gets its answer at once."""
    script = (
        "import django, time; django.setup()\n"
        "from decimal import Decimal\n"
        "from commerce import telemetry\n"
        "assert telemetry.configure(service_role='web')\n"
        "from contexts.pricing import api\n"
        "started = time.monotonic()\n"
        "with telemetry.tracer().start_as_current_span('request'):\n"
        "    api.set_base_price(sku='BROKER-DOWN-1', currency='EUR', amount=Decimal('5.00'))\n"
        "print('RESULT', round(time.monotonic() - started, 2))\n"
    )
    result = run_python(
        script,
        DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
        COMMERCE_USE_TEST_DATABASES="1",
        EVENTBUS_DISPATCH="celery",
        CELERY_BROKER_URL="redis://127.0.0.1:9/0",
        OTEL_TRACES_EXPORTER="console",
    )
    assert float(result.stdout.split("RESULT")[1].split()[0]) < 15
    assert "Could not queue" in result.stderr

    alias = settings.CONTEXT_DATABASES["pricing"]
    message = OutboxMessage.objects.using(alias).get(event_type="pricing.PriceChanged")
    assert message.trace_context.get("traceparent")
    assert set(Delivery.objects.using(alias).filter(message=message).values_list("status", flat=True)) == {"pending"}
