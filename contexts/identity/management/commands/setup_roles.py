"""Staff roles as Django groups (API.md): re-running it brings the groups back to this definition.

Grants are by app label (and, where a role needs less than a whole app, by model), resolved against
the permissions that exist when the command runs, so models a context adds later are covered by
running it again after ``migrate`` (``bin/shop`` does both).
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db.models import Q

ALL = ("add", "change", "delete", "view", "custom")  # "custom": the app's own permissions, if any
EDIT = ("change", "view")
VIEW = ("view",)

# role → {"app" or "app.model": actions}. A model entry overrides its app's entry.
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    # Catalogue and pricing (prices, promotions, vouchers, shipping rates, tax); sees stock levels.
    "merchandisers": {"catalogue": ALL, "pricing": ALL, "inventory": VIEW},
    # Stock, warehouses, reservations and shipments; ships orders (the orders admin's ship_orders and
    # mark_delivered need change on orders; cancel_orders needs orders.cancel_order, a custom permission
    # only customer service gets) and sees their lines and history, and the products. Named model by model:
    # none of the money (payments, refunds, the gateway's ledger), nor what orders adds later unasked.
    "warehouse": {
        "inventory": ALL,
        "orders.order": EDIT,
        "orders.orderline": VIEW,
        "orders.orderstatuschange": VIEW,
        "orders.shipment": EDIT,
        "catalogue": VIEW,
    },
    # Orders, returns and refunds, carts, customers and what they were told; no pricing at all.
    # Customers are changed, never added or deleted here: closing an account is the erasure.
    "customer_service": {
        "orders": ALL,
        "cart": ALL,
        "identity": EDIT,
        "notifications": EDIT,  # the message log, and resending a message
        "catalogue": VIEW,
        "inventory": VIEW,
    },
}
STANDARD = ("add", "change", "delete", "view")


def _grant(app_label: str, model: str | None, actions: tuple[str, ...]) -> Q:
    scope = Q(content_type__app_label=app_label)
    if model is not None:
        scope &= Q(content_type__model=model)
    wanted = Q(pk__in=[])
    for action in actions:
        if action == "custom":
            custom = Q()
            for standard in STANDARD:
                custom &= ~Q(codename__startswith=f"{standard}_")
            wanted |= custom
        else:
            wanted |= Q(codename__startswith=f"{action}_")
    return scope & wanted


def permissions_for(role: str) -> "Permission.objects":
    """The permissions ``role`` gets: its apps' models, minus model entries that narrow them."""
    grants = ROLES[role]
    query = Q(pk__in=[])
    for target, actions in grants.items():
        app_label, _, model = target.partition(".")
        if model:
            continue
        narrowed = [t.partition(".")[2] for t in grants if t.startswith(f"{app_label}.")]
        app_grant = _grant(app_label, None, actions)
        if narrowed:
            app_grant &= ~Q(content_type__model__in=narrowed)
        query |= app_grant
    for target, actions in grants.items():
        app_label, _, model = target.partition(".")
        if model:
            query |= _grant(app_label, model, actions)
    return Permission.objects.filter(query)


class Command(BaseCommand):
    help = "Create or update the staff groups merchandisers, warehouse and customer_service."

    def handle(self, *args: object, **options: object) -> None:
        for label in {target.partition(".")[0] for grants in ROLES.values() for target in grants}:
            apps.get_app_config(label)  # a typo in ROLES fails loudly
        for name in ROLES:
            group, _ = Group.objects.get_or_create(name=name)
            permissions = permissions_for(name)
            group.permissions.set(permissions)
            self.stdout.write(f"{name}: {permissions.count()} permissions")
