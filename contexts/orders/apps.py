from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "contexts.orders"
    label = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Registers this context's event subscriptions, and nothing else (what other contexts lend
        orders, such as identity's address book, is wired in ``contexts/wiring.py``)."""
        from contexts.orders import handlers  # noqa: F401
