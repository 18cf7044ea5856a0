import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_setup_roles_creates_the_three_staff_groups_and_is_repeatable():
    call_command("setup_roles")
    call_command("setup_roles")
    assert set(Group.objects.values_list("name", flat=True)) >= {"merchandisers", "warehouse", "customer_service"}


def test_customer_service_cannot_touch_pricing():
    call_command("setup_roles")
    service = Group.objects.get(name="customer_service")
    assert not service.permissions.filter(content_type__app_label="pricing").exists()
    assert service.permissions.filter(content_type__app_label="identity", codename="view_user").exists()
