from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "contexts.identity"
    label = "identity"
    verbose_name = "Identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Registers this context's event subscriptions, and nothing else (the address book identity
        lends orders is wired in ``contexts/wiring.py``)."""
        from contexts.identity import handlers  # noqa: F401
