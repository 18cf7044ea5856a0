"""OWASP API3:2023 Broken Object Property Level Authorization (mass assignment): fields a client
must not set never change the database, whatever the endpoint answers."""

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from tests.identity.factories import PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db
PRIVILEGED = {
    "is_staff": True,
    "is_superuser": True,
    "is_active": False,
    "id": 424242,
    "pk": 424242,
    "status": "paid",
    "total": "0.00",
    "unit_price": "0.01",
    "customer": 1,
    "user": 1,
    "groups": [1],
    "password": "x",
    "date_joined": "2000-01-01T00:00:00Z",
}


@pytest.mark.parametrize("field", sorted(set(PRIVILEGED) - {"password"}))
def test_registering_with_a_privileged_field_creates_no_privileged_account(field):
    response = APIClient().post(
        "/api/v1/auth/register",
        {"email": "mass@example.com", "password": PASSWORD, field: PRIVILEGED[field]},
        format="json",
    )
    user = get_user_model().objects.filter(email="mass@example.com").first()
    if user is not None:
        assert response.status_code == 201
        assert not user.is_staff and not user.is_superuser and user.is_active
        assert user.pk != 424242 and not user.groups.exists()
    else:
        assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.parametrize("field", sorted(PRIVILEGED))
def test_patching_the_profile_with_a_privileged_field_changes_nothing_of_it(field):
    customer = CustomerFactory()
    before = model_to_dict(get_user_model().objects.get(pk=customer.pk))
    client = APIClient()
    client.force_authenticate(customer)
    response = client.patch("/api/v1/me", {field: PRIVILEGED[field]}, format="json")
    assert response.status_code in {200, 400}
    after = model_to_dict(get_user_model().objects.get(pk=customer.pk))
    assert after == before, f"PATCH /me with {field} changed {[k for k in after if after[k] != before[k]]}"
    assert get_user_model().objects.get(pk=customer.pk).check_password(PASSWORD)


@pytest.mark.parametrize("field", ["user", "customer", "id", "created_at", "user_id"])
def test_an_address_cannot_be_created_for_someone_else(field):
    from contexts.identity.models import Address

    owner, victim = CustomerFactory(), CustomerFactory()
    client = APIClient()
    client.force_authenticate(owner)
    value = victim.pk if field != "created_at" else "2000-01-01T00:00:00Z"
    client.post(
        "/api/v1/me/addresses",
        {"full_name": "A", "line1": "1 Road", "city": "Town", "country": "DE", field: value},
        format="json",
    )
    assert not Address.objects.filter(user=victim).exists()
    assert all(a.user_id == owner.pk for a in Address.objects.all())
