from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "contexts.cart"
    label = "cart"
    verbose_name = "Cart"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this context's event subscriptions, and nothing else.
        from contexts.cart import handlers  # noqa: F401
