from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "contexts.identity"
    label = "identity"
    verbose_name = "Identity and notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this context's event subscriptions, and lends orders the customers' address book
        # (orders sits below identity, so checkout cannot call identity for an ``address_id``).
        from contexts.identity import api, handlers  # noqa: F401
        from contexts.orders import api as orders_api

        orders_api.register_address_book(
            resolver=lambda customer_id, address_id: api.saved_address_for_checkout(
                customer_id=customer_id, address_id=address_id
            )
        )
