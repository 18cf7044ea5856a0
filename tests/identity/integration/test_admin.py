"""Staff screens: customers searchable with their addresses inline, the notification log with its resend."""

from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from contexts.identity.models import Address, Notification
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


def notification(**fields) -> Notification:
    defaults = {
        "event_id": uuid4(),
        "kind": "order_confirmation",
        "recipient": "ann@example.com",
        "subject": "Your order 100042 is confirmed",
        "body_text": "Thanks",
        "status": Notification.Status.SENT,
    }
    return Notification.objects.create(**{**defaults, **fields})


def test_the_notification_log_filters_by_kind_and_status(staff_client):
    notification()
    notification(kind="refund_issued", status=Notification.Status.GAVE_UP)
    assert staff_client.get("/admin/identity/notification/?kind__exact=refund_issued").context["cl"].result_count == 1
    assert staff_client.get("/admin/identity/notification/?status__exact=sent").context["cl"].result_count == 1
    assert staff_client.get("/admin/identity/notification/?q=100042").context["cl"].result_count == 2


def test_resend_sends_the_selected_messages_again(staff_client):
    gave_up = notification(status=Notification.Status.GAVE_UP, attempts=8)
    response = staff_client.post(
        "/admin/identity/notification/", {"action": "resend", "_selected_action": [gave_up.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Sent 1 of 1" in response.content.decode()
    gave_up.refresh_from_db()
    assert gave_up.status == Notification.Status.SENT
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_an_erased_message_cannot_be_resent(staff_client):
    from django.utils import timezone

    erased = notification(recipient="", body_text="", erased_at=timezone.now())
    staff_client.post("/admin/identity/notification/", {"action": "resend", "_selected_action": [erased.pk]})
    assert mail.outbox == []
