"""The wiring between contexts: where one context lends another what the DAG does not let it call for.

Contexts call down and publish up (identity > orders > cart > catalogue > pricing | inventory); a
context below cannot import one above it. Where a context below needs something only a context
above holds, the one above lends it, and every such loan is declared here, in one place:

| lent by  | to     | what                                   | used for                                     |
|----------|--------|----------------------------------------|----------------------------------------------|
| identity | orders | the customers' saved addresses         | checkout with ``address_id`` instead of an address |
| notifications | identity | a customer's messages (in process, or from its service with a token identity issues) | the personal-data export (``/me/export``) |

This module is installed as the last app (``contexts.wiring.WiringConfig`` in ``INSTALLED_APPS``), so
its ``ready()`` runs once every context is loaded; each context's own ``ready()`` registers that
context's event subscriptions and nothing else. It imports only the contexts' ``api`` modules.
"""

from django.apps import AppConfig


def wire_contexts() -> None:
    """Make every loan in the table above (idempotent: wiring again replaces, never adds)."""
    from contexts.identity import api as identity_api
    from contexts.notifications import api as notifications_api
    from contexts.orders import api as orders_api

    orders_api.register_address_book(
        resolver=lambda customer_id, address_id: identity_api.saved_address_for_checkout(
            customer_id=customer_id, address_id=address_id
        )
    )
    identity_api.register_message_history(
        reader=lambda customer_id: notifications_api.customer_messages(
            customer_id=customer_id, access_token=lambda: _access_token(customer_id)
        )
    )


def _access_token(customer_id: int) -> str:
    """The token notifications calls its service with for a customer (their messages, for their export),
    issued by identity: asked for only when notifications reads from its service, which knows customers by
    their tokens alone. The wiring's own call, not notifications': notifications imports no other api."""
    from contexts.identity import api as identity_api

    return identity_api.issue_access_token(customer_id=customer_id).token


class WiringConfig(AppConfig):
    name = "contexts"
    label = "wiring"
    verbose_name = "Wiring between contexts"

    def ready(self) -> None:
        """Wires the contexts together (``wire_contexts``), after every context's own ``ready()``."""
        wire_contexts()
