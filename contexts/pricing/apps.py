from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "contexts.pricing"
    label = "pricing"
    verbose_name = "Pricing and promotions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this context's event subscriptions, and nothing else.
        from contexts.pricing import handlers  # noqa: F401
