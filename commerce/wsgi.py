import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

application = get_wsgi_application()

# Tracing, when OTEL_TRACES_EXPORTER asks for it: in each gunicorn worker (the application is loaded
# after the fork; gunicorn's post_fork hook does the same) and in the development server.
from commerce import telemetry  # noqa: E402

telemetry.configure(service_role="web")


def _freeze_what_loading_created() -> None:
    """Load the URLconf now, then move every object loading created out of the collector's sight.

    Django and DRF leave reference cycles behind each request, freed only by the cyclic collector's full
    collections, which Python starts when the objects it tracks grew by a quarter since the last one. With
    the ~300 000 objects of a loaded shop counted, that took ~20 000 requests, and their garbage piled up in
    between (6 MB a worker). Frozen, those objects are never walked again and no longer count, so full
    collections look at request garbage only and come as often as it needs. The first request no longer
    pays for importing the views either. (The API docs' stack still loads on its first use.)
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the property loads every urls module)
    gc.freeze()
    gc.collect()  # a full collection now sets the baseline the next one is measured against: ~0


_freeze_what_loading_created()
