from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "contexts.inventory"
    label = "inventory"
    verbose_name = "Inventory and fulfilment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this context's event subscriptions, and nothing else.
        from contexts.inventory import handlers  # noqa: F401
