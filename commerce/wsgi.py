import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")
application = get_wsgi_application()

# Tracing, when OTEL_TRACES_EXPORTER asks for it: in each gunicorn worker (the application is loaded
# after the fork; gunicorn's post_fork hook does the same) and in the development server.
from commerce import telemetry  # noqa: E402

telemetry.configure(service_role="web")
