from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "contexts.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this context's event subscriptions, and nothing else.
        from contexts.catalogue import handlers  # noqa: F401
