from django.apps import AppConfig
from django.conf import settings


class CommerceConfig(AppConfig):
    """The kernel as an app: its management commands (``ensure_superuser``), when tracing is on the spans
    around the contexts' api once every app is loaded, and the Celery app when events go through Celery
    (so ``current_app`` is ours in every process that queues; inline dispatch never loads Celery)."""

    name = "commerce"
    verbose_name = "Commerce kernel"

    def ready(self) -> None:
        from commerce import telemetry

        telemetry.instrument_apis_when_ready()
        if settings.EVENTBUS["DISPATCH"] == "celery":
            import commerce.celery  # noqa: F401
