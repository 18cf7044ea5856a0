"""Tracing with OpenTelemetry: off by default, switched on by the standard ``OTEL_*`` variables.

``OTEL_TRACES_EXPORTER=console`` prints spans; ``otlp`` sends them to ``OTEL_EXPORTER_OTLP_ENDPOINT``
(OTLP over gRPC, ``http://localhost:4317`` by default; ``OTEL_EXPORTER_OTLP_*`` and
``OTEL_SERVICE_NAME`` as the OpenTelemetry specification defines them). Unset or ``none``: no
provider, nothing is instrumented, nothing is exported.

When on, ``configure`` (one call per process, after any fork: gunicorn's ``post_fork``, Celery's
``worker_process_init``) creates the tracer provider and instruments

- Django (a span per request), psycopg (a span per query), Celery (publish and run of each task) and
  outgoing HTTP through ``urllib``;
- every public function of every context's ``api`` module, as a span named ``<context>.<function>``
  (the modules are named in ``settings.TRACED_API_MODULES``, by dotted string: the kernel imports no
  context);
- the event bus: ``publish`` stores the current trace context in the outbox row
  (``OutboxMessage.trace_context``, W3C ``traceparent``/``tracestate``), and each delivery runs its
  handler in a span that continues that trace, in whichever process delivers it (inline after the
  commit, a Celery worker, the sweep) — one trace from the HTTP request through the outbox to every
  handler.

A collector that is down never slows or breaks the shop: spans are exported in a background thread,
dropped when they cannot be sent, and one warning is logged (then one more when export recovers).

With tracing off, OpenTelemetry is never imported (~0.7 MB in every worker): the functions the event bus
and the logs call on every publish, delivery and log line answer "no trace" first and import it only
in a process where ``install`` has run.
"""

import functools
import inspect
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

logger = logging.getLogger(__name__)

TRACER_NAME = "commerce"
_state: dict[str, Any] = {"pid": None, "provider": None, "instrumented": [], "api_originals": []}


def enabled() -> bool:
    """Whether ``OTEL_TRACES_EXPORTER`` names an exporter (and ``OTEL_SDK_DISABLED`` is not set)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(_exporter_names())


def _exporter_names() -> list[str]:
    value = os.environ.get("OTEL_TRACES_EXPORTER", "")
    return [name.strip().lower() for name in value.split(",") if name.strip() and name.strip().lower() != "none"]


def tracing_installed() -> bool:
    """Whether this process traces: ``install`` ran in it (``configure``, or a test's provider). A global
    provider set by other means (``opentelemetry-instrument``) is not ours and is not followed."""
    return _state["provider"] is not None


def tracer() -> "Tracer":
    from opentelemetry import trace

    provider = _state["provider"]
    return provider.get_tracer(TRACER_NAME) if provider is not None else trace.get_tracer(TRACER_NAME)


# --- Setting up ----------------------------------------------------------------------------------
def configure(service_role: str = "web") -> bool:
    """Create this process's tracer provider and instrument everything, when the environment asks.

    Idempotent within a process; a forked child configures itself anew. Returns whether tracing is on.
    """
    if not enabled():
        return False
    if _state["pid"] != os.getpid():
        _create_provider(service_role)
    instrument_apis_when_ready()
    return True


def _create_provider(service_role: str) -> None:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "commerce"}).merge(
        Resource.create({"commerce.process.role": service_role})
    )
    provider = TracerProvider(resource=resource)
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)
    logger.info("Tracing on (%s), exporting to %s", service_role, ", ".join(_exporter_names()))


def _exporters() -> list:
    exporters = []
    for name in _exporter_names():
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            # OTLP over gRPC: the HTTP exporter needs ``requests``, and Django REST framework imports
            # ``requests`` whenever it is installed (``rest_framework.compat``), ~5 MB in every web worker.
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            # The exporter retries and logs each failed attempt; ours says it once (see _Quiet).
            logging.getLogger("opentelemetry.exporter.otlp.proto.grpc").setLevel(logging.CRITICAL)
            logging.getLogger("opentelemetry.exporter.otlp.proto.grpc.exporter").setLevel(logging.CRITICAL)
            exporters.append(_Quiet(OTLPSpanExporter(), name))
        else:
            logger.warning("OTEL_TRACES_EXPORTER=%s is not supported here (console, otlp or none)", name)
    return exporters


class _Quiet:
    """Wraps an exporter: a failed export drops its spans and logs one warning until export works again."""

    def __init__(self, exporter, name: str) -> None:
        self._exporter = exporter
        self._name = name
        self._failing = False

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            result = self._exporter.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            if self._failing:
                logger.warning("Tracing: the %s exporter works again", self._name)
            self._failing = False
        elif not self._failing:
            self._failing = True
            logger.warning(
                "Tracing: spans could not be sent with the %s exporter (%s); they are dropped until it answers",
                self._name,
                os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                or "default endpoint",
            )
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def install(provider) -> None:
    """Use ``provider`` in this process and instrument the libraries and the contexts' api modules.

    ``configure`` calls it; tests call it with a provider that keeps spans in memory.
    """
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.urllib import URLLibInstrumentor

    uninstall()
    _state["provider"] = provider
    _state["pid"] = os.getpid()
    for instrumentor in (DjangoInstrumentor(), PsycopgInstrumentor(), CeleryInstrumentor(), URLLibInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
            _state["instrumented"].append(instrumentor)
    instrument_apis_when_ready()


def uninstall() -> None:
    """Undo ``install`` (tests)."""
    for instrumentor in _state["instrumented"]:
        instrumentor.uninstrument()
    _state["instrumented"] = []
    for module, name, original in reversed(_state["api_originals"]):
        setattr(module, name, original)
    _state["api_originals"] = []
    _state["provider"] = None
    _state["pid"] = None


# --- The contexts' api ---------------------------------------------------------------------------
def instrument_apis_when_ready() -> None:
    """Wrap the api modules now if Django's apps are loaded; otherwise the kernel's app does it in
    ``ready()`` (gunicorn's ``post_fork`` runs before the application is loaded)."""
    from django.apps import apps

    if _state["provider"] is not None and _state["pid"] == os.getpid() and apps.models_ready:
        instrument_apis()


def _defined_in(function: object, module: object) -> bool:
    """Whether ``function`` belongs to ``module``: defined in it, or in one of its private submodules
    when the api is a package that re-exports them (as pricing's is). Imported helpers are not traced."""
    owner = getattr(function, "__module__", "")
    return owner == module.__name__ or owner.startswith(module.__name__ + ".")


def instrument_apis() -> None:
    """Wrap every public function of each module in ``settings.TRACED_API_MODULES`` in a span."""
    import importlib

    from django.conf import settings

    for dotted in getattr(settings, "TRACED_API_MODULES", ()):
        module = importlib.import_module(dotted)
        context = dotted.split(".")[-2]
        # The published names: ``__all__`` when the api is a package re-exporting its private modules.
        names = getattr(module, "__all__", None) or [name for name in vars(module) if not name.startswith("_")]
        for name in names:
            function = getattr(module, name, None)
            if not inspect.isfunction(function) or not _defined_in(function, module):
                continue
            if getattr(function, "__commerce_traced__", False):
                continue
            setattr(module, name, traced(f"{context}.{name}")(function))
            _state["api_originals"].append((module, name, function))


def traced(span_name: str) -> Callable[[Callable], Callable]:
    """Decorator: run the function in a span called ``span_name``; an exception is recorded on it."""

    from opentelemetry.trace import SpanKind

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer().start_as_current_span(span_name, kind=SpanKind.INTERNAL) as span:
                try:
                    return function(*args, **kwargs)
                except Exception as error:
                    code = getattr(error, "code", None)
                    if code:
                        span.set_attribute("commerce.error.code", code)
                    raise

        wrapper.__commerce_traced__ = True
        return wrapper

    return decorate


# --- The event bus -------------------------------------------------------------------------------
def current_trace_context() -> dict[str, str]:
    """The current trace context as W3C headers, for an outbox row ({} when no span is recording)."""
    if not tracing_installed():
        return {}
    from opentelemetry import propagate, trace

    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def delivery_span(subscription: str, messages: Sequence[Any]) -> Iterator[None]:
    """Run a delivery in a span continuing the trace of the (first) message's publisher.

    The other messages of a batch are linked; the span delivering them (a Celery task, the sweep) is
    linked too, so both ways of reading the trace work.
    """
    if not tracing_installed():
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Link, SpanKind

    stored = [getattr(message, "trace_context", None) or {} for message in messages]
    if not any(stored) and not trace.get_current_span().get_span_context().is_valid:
        yield
        return
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if current.is_valid else []
    for carrier in stored[1:]:
        linked = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if linked.is_valid:
            links.append(Link(linked))
    parent = propagate.extract(stored[0]) if stored[0] else otel_context.get_current()
    first = messages[0]
    attributes = {
        "messaging.system": "commerce.eventbus",
        "messaging.operation.type": "process",
        "messaging.destination.name": subscription,
        "commerce.event.type": getattr(first, "event_type", ""),
        "commerce.event.id": str(getattr(first, "event_id", "")),
        "messaging.batch.message_count": len(messages),
    }
    span = tracer().start_span(
        f"deliver {subscription}", context=parent, kind=SpanKind.CONSUMER, links=links, attributes=attributes
    )
    with trace.use_span(span, end_on_exit=True, record_exception=True, set_status_on_exception=True):
        yield


# --- Logs ----------------------------------------------------------------------------------------
def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current span, or None outside one."""
    if not tracing_installed():
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
