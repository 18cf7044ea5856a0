"""Staff roles as Django groups (API.md): re-running it brings the groups back to this definition."""

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db.models import Q

# Each role: the apps it manages fully, and the apps it may only look at.
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "merchandisers": {"manage": ("catalogue", "pricing"), "view": ("inventory",)},
    "warehouse": {"manage": ("inventory",), "view": ("orders", "catalogue")},
    "customer_service": {"manage": ("orders", "cart"), "view": ("identity", "catalogue", "inventory")},
}


class Command(BaseCommand):
    help = "Create or update the staff groups merchandisers, warehouse and customer_service."

    def handle(self, *args: object, **options: object) -> None:
        for name, scope in ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            permissions = Permission.objects.filter(
                Q(content_type__app_label__in=scope["manage"])
                | Q(content_type__app_label__in=scope["view"], codename__startswith="view_")
            )
            group.permissions.set(permissions)
            self.stdout.write(f"{name}: {permissions.count()} permissions")
