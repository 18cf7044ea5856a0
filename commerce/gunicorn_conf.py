"""gunicorn's configuration for the shop: ``gunicorn -c python:commerce.gunicorn_conf commerce.wsgi``.

Used by ``bin/shop``, the container and the Kubernetes deployment. Everything comes from the
environment (see the README's configuration table): ``HOST``/``PORT`` to bind, ``WEB_CONCURRENCY``
workers, ``GUNICORN_THREADS`` threads each, ``GUNICORN_TIMEOUT`` for a stuck request and
``GUNICORN_GRACEFUL_TIMEOUT`` for the requests in flight when the server is told to stop (SIGTERM:
workers finish what they serve, then exit).

Metrics: each worker writes its counts under ``PROMETHEUS_MULTIPROC_DIR`` (``var/prometheus`` unless
set); the master clears an earlier run's files before forking and marks each worker that exits.
"""

import os
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
# Every worker counts its metrics in files here; /metrics adds them up (see commerce.metrics).
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(os.environ.get("COMMERCE_VAR_DIR") or Path(__file__).resolve().parent.parent / "var") / "prometheus"),
)

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
# A worker is replaced after this many requests (with jitter, so they do not all restart at once):
# a slow leak never takes the server down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 1000)
max_requests_jitter = max_requests // 10
# Heartbeat files in memory, not on a container's overlay disk, where a slow write looks like a hang.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "commerce-web"


def on_starting(server) -> None:
    from commerce import metrics

    metrics.prepare_multiprocess_directory()


def post_fork(server, worker) -> None:
    # The tracer provider (and its export thread) is created in the worker, never in the master.
    from commerce import telemetry

    telemetry.configure(service_role="web")


def child_exit(server, worker) -> None:
    from commerce import metrics

    metrics.mark_process_dead(worker.pid)
