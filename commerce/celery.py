"""The Celery application. Periodic jobs are declared in code (``commerce.periodic``) and handed to
beat by ``commerce.beat.PeriodicJobsScheduler``, so a fresh database gets them all."""

import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

app = Celery("commerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every installed app's tasks module


# Tracing (when OTEL_TRACES_EXPORTER asks for it) starts in each process that runs tasks, after the
# fork: a tracer provider's export thread does not survive one.
@worker_process_init.connect
def _trace_pool_process(**_: object) -> None:
    from commerce import telemetry

    telemetry.configure(service_role="worker")


@worker_init.connect
def _trace_solo_worker(sender=None, **_: object) -> None:
    from commerce import telemetry

    pool = getattr(getattr(sender, "pool_cls", None), "__module__", "")
    if "prefork" not in pool:  # solo or threads: tasks run in this very process
        telemetry.configure(service_role="worker")


@beat_init.connect
def _trace_beat(**_: object) -> None:
    from commerce import telemetry

    telemetry.configure(service_role="beat")


# /metrics on METRICS_PORT from the worker's main process (commerce.metrics.serve_process_metrics): its
# pool's processes count in PROMETHEUS_MULTIPROC_DIR, which it adds up; unset, no port is opened.
@worker_init.connect
def _serve_worker_metrics(**_: object):
    from commerce import metrics

    return metrics.serve_process_metrics()
