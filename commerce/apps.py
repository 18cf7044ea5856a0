from django.apps import AppConfig


class CommerceConfig(AppConfig):
    """The kernel as an app: its management commands (``ensure_superuser``) and, when tracing is on,
    the spans around the contexts' api once every app is loaded."""

    name = "commerce"
    verbose_name = "Commerce kernel"

    def ready(self) -> None:
        from commerce import telemetry

        telemetry.instrument_apis_when_ready()
