"""Issue 27 item 1: the admin carries the shop's name, "View site" leads somewhere real, and the
lock-out page is in the admin's look and says when the lock ends and who lifts it."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.identity.factories import PASSWORD, CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_admin_carries_the_shop_s_name_from_the_settings(staff, settings):
    settings.SHOP_NAME = "Lovelace Tees"
    page = staff(None).get("/admin/").content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert re.search(r'<div id="site-name"><a href="/admin/">Lovelace Tees</a></div>', page)
    assert "<title>Today in the shop | Lovelace Tees staff</title>" in page


def test_view_site_leads_to_the_api_docs_by_default_and_to_the_storefront_when_set(staff, settings):
    client = staff(None)
    link = re.search(r'<a href="([^"]+)">View site</a>', client.get("/admin/").content.decode()).group(1)
    assert link == "/api/docs"
    assert client.get(link).status_code == 200, "View site is a real page, not a 404"
    settings.SHOP_SITE_URL = "https://shop.example.com/"
    assert '<a href="https://shop.example.com/">View site</a>' in client.get("/admin/").content.decode()


def admin_login(email: str, password: str, address: str):
    return Client(REMOTE_ADDR=address).post("/admin/login/?next=/admin/", {"username": email, "password": password})


def test_the_lock_out_page_is_the_admin_s_and_says_when_it_ends_and_who_lifts_it(settings):
    settings.SHOP_NAME = "Lovelace Tees"
    victim = CustomerFactory(is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(victim.email, "guess", address="198.51.100.40")
    locked = admin_login(victim.email, PASSWORD, address="198.51.100.41")
    latest = max(AccessAttempt.objects.filter(username=victim.email).values_list("attempt_time", flat=True))
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "admin/css/base.css" in page and "Lovelace Tees" in page, "in the admin's styles, with the shop's name"
    ends = timezone.localtime(latest + settings.AXES_COOLOFF_TIME)
    assert f'datetime="{ends.isoformat()}"' in page, "the time the lock ends"
    assert "A superuser can lift it sooner" in page and "axes_reset_username" in page
    assert victim.email in page


def test_the_lock_out_ends_when_the_page_says(settings):
    victim = CustomerFactory(is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_login(victim.email, "guess", address="198.51.100.50")
    assert admin_login(victim.email, PASSWORD, address="198.51.100.51").status_code == 429
    AccessAttempt.objects.filter(username=victim.email).update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    answer = admin_login(victim.email, PASSWORD, address="198.51.100.51")
    assert answer.status_code == 302 and answer["Location"] == "/admin/"
