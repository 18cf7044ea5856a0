"""Staff screens: customers searchable with their addresses inline."""

import pytest
from django.contrib.auth import get_user_model

from contexts.identity.models import Address
from tests.identity.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser(email="staff@example.com", password="x-very-secret-1")
    client.force_login(admin)
    return client


def test_customers_are_found_by_email_and_by_name(staff_client):
    CustomerFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee")
    CustomerFactory(email="bo@example.com", first_name="Bo", last_name="Stone")
    assert staff_client.get("/admin/identity/user/?q=ann.lee").context["cl"].result_count == 1
    assert staff_client.get("/admin/identity/user/?q=Stone").context["cl"].result_count == 1


def test_a_customers_page_shows_their_addresses_inline(staff_client):
    customer = CustomerFactory()
    Address.objects.create(user=customer, full_name="Ann Lee", line1="Hauptstr. 1", city="Berlin", country="DE")
    page = staff_client.get(f"/admin/identity/user/{customer.pk}/change/")
    assert page.status_code == 200
    assert "Hauptstr. 1" in page.content.decode()
