import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client

from contexts.identity.models import User


@pytest.fixture
def staff():
    """``staff("warehouse")``: a logged-in client of a member of that ``setup_roles`` group (``None``: a
    superuser)."""

    def make(role: str | None) -> Client:
        call_command("setup_roles", stdout=open("/dev/null", "w"))  # noqa: SIM115
        email = f"{role or 'super'}-{User.objects.count()}@example.com"
        user = User.objects.create_user(email, "x-very-secret-staff-1", is_staff=True, is_superuser=role is None)
        if role:
            user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make
