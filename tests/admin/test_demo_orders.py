"""The demo shop has orders (issue 27's "Resolved when", review point 1): after ``bin/shop``'s seeding, a
new user's admin index shows work waiting today and how the week went, not zeros and an empty chart."""

import io
import re

import pytest
from django.core.management import call_command

from contexts.orders.models import Order, Return
from contexts.orders.services import money_position
from tests.admin.test_dashboard import figures

pytestmark = pytest.mark.django_db(transaction=True)  # events are delivered after commit


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo_orders", stdout=out)
    return out.getvalue()


def test_after_the_demo_seed_the_index_shows_what_to_do_today_and_how_the_week_went(staff, settle_events):
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    settle_events()
    seed()
    settle_events()
    page = staff(None).get("/admin/").content.decode()
    shown = figures(page)
    assert int(shown["Orders to ship"][0]) >= 3
    assert shown["Returns waiting"][0] == "1"
    assert shown["Last 7 days (EUR)"][0] not in ("0.00 EUR",) and shown["Today (EUR)"][0] != "0.00 EUR"
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" class="bar"', page)]
    assert sum(1 for h in heights if h > 0) >= 10, "a chart with bars over the last weeks"
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"confirmed", "shipped", "delivered", "cancelled"} <= statuses
    assert money_position().differences == ()

    placed = Order.objects.count()
    assert "0 placed this run" in seed()
    assert Order.objects.count() == placed and Return.objects.count() == 1
