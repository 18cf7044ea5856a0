"""The shop's day is the shop's time zone (``TIME_ZONE``), not UTC: "Today" on the dashboard and the
days of its chart start at local midnight (issue 27's review, point 2)."""

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from contexts.orders import api as orders_api
from contexts.orders.models import Order
from tests.admin.test_dashboard import figures
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")


def settings_in(environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "commerce.settings", **environment}
    code = "import django; django.setup(); from django.conf import settings; print(settings.TIME_ZONE)"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)


def test_the_time_zone_is_read_from_the_environment():
    assert settings_in({"TIME_ZONE": "Europe/Berlin"}).stdout.strip() == "Europe/Berlin"
    assert settings_in({"TIME_ZONE": ""}).stdout.strip() == "UTC"


def test_an_unknown_time_zone_is_refused_by_name():
    refused = settings_in({"TIME_ZONE": "Mars/Olympus"})
    assert refused.returncode != 0 and "TIME_ZONE" in refused.stderr and "Mars/Olympus" in refused.stderr


def late_evening_utc() -> Order:
    """An order at 23:30 UTC on the day before Berlin's today: 00:30 (or 01:30 in summer) in Berlin today."""
    berlin_today = datetime.now(BERLIN).date()
    order = OrderFactory()
    placed = datetime.combine(berlin_today - timedelta(days=1), time(23, 30), tzinfo=UTC)
    Order.objects.filter(pk=order.pk).update(created_at=placed)
    return order


def test_an_order_at_23_30_utc_is_tomorrow_s_sale_in_berlin(settings):
    late_evening_utc()
    berlin_today = datetime.now(BERLIN).date()
    settings.TIME_ZONE = "Europe/Berlin"
    assert [s.day for s in orders_api.daily_sales(since=berlin_today - timedelta(days=1))] == [berlin_today]
    settings.TIME_ZONE = "UTC"
    assert [s.day for s in orders_api.daily_sales(since=berlin_today - timedelta(days=1))] == [
        berlin_today - timedelta(days=1)
    ]


def test_today_on_the_dashboard_is_berlin_s_today(settings, staff):
    late_evening_utc()
    settings.TIME_ZONE = "Europe/Berlin"
    shown = figures(staff(None).get("/admin/").content.decode())
    assert shown["Today (EUR)"][0] == "31.90 EUR"
