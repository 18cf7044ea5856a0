"""The notifications service's WSGI entry point: ``gunicorn -c python:commerce.gunicorn_conf
services.notifications.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "services.notifications.settings")

application = get_wsgi_application()

# Tracing, when OTEL_TRACES_EXPORTER asks for it (as commerce.wsgi: gunicorn's post_fork hook does the same).
from commerce import telemetry  # noqa: E402

telemetry.configure(service_role="web")
