from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class CommerceConfig(AppConfig):
    """The kernel as an app: its management commands (``ensure_superuser``), the system check of the JWT
    signing key (``commerce.jwt_keys``), when tracing is on the spans around the contexts' api once every
    app is loaded, and the Celery app when events go through Celery (so ``current_app`` is ours in every
    process that queues; inline dispatch never loads Celery)."""

    name = "commerce"
    verbose_name = "Commerce kernel"

    def ready(self) -> None:
        from commerce import authentication, jwt_keys, telemetry

        if getattr(settings, "JWT_SIGNING_KEY", None):  # a lifted service verifies with public keys only
            checks.register(jwt_keys.check_signing_key, checks.Tags.security)
        checks.register(authentication.check_key_source, checks.Tags.security)
        telemetry.instrument_apis_when_ready()
        if settings.EVENTBUS["DISPATCH"] == "celery":
            import commerce.celery  # noqa: F401
