"""Merchandisers' screens: filters render, bad input is a form error, saves announce like the api."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contexts.pricing.models import Price, Promotion, Voucher
from tests.pricing.factories import price, promotion, voucher

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "query", "expected"),
    [
        ("price", "?on_sale=yes&currency=EUR&q=SKU", ["SKU-1 EUR"]),
        ("price", "?on_sale=no", ["FULL EUR", "SKU-1 USD"]),
        ("price", "?currency=USD", ["SKU-1 USD"]),
        ("price", "?tax_class=reduced", ["FULL EUR"]),
        ("promotion", "?status=active", ["Promo"]),
        ("promotion", "?status=scheduled", ["Later"]),
        ("promotion", "?status=ended", ["Over"]),
        ("voucher", "?status=active&q=welcome", ["WELCOME10"]),
        ("voucher", "?status=ended", ["OLD"]),
    ],
)
def test_changelist_filters_return_exactly_the_matching_rows(admin_client, model, query, expected):
    """Issue 9 point 18: each filter is judged by the rows it returns, not by the page rendering."""
    from contexts.pricing import api as pricing_api

    now = timezone.now()
    price("SKU-1", "10.00")
    price("SKU-1", "12.00", currency="USD")
    pricing_api.set_base_price(sku="FULL", currency="EUR", amount=Decimal("10.00"), tax_class="reduced")
    pricing_api.set_sale_price(sku="SKU-1", currency="EUR", amount=Decimal("5"))
    promotion(name="Promo")
    promotion(name="Later", starts_at=now + timedelta(days=1))
    promotion(name="Over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    voucher()
    voucher("OLD", is_active=False)
    response = admin_client.get(reverse(f"admin:pricing_{model}_changelist") + query)
    assert response.status_code == 200
    rows = response.context["cl"].queryset
    shown = [f"{row.sku} {row.currency}" if model == "price" else str(row) for row in rows]
    assert sorted(shown) == sorted(expected)


def test_on_sale_now_filter_lists_only_prices_on_sale(admin_client):
    from contexts.pricing import api as pricing_api

    price("CHEAP", "10.00")
    price("FULL", "10.00")
    pricing_api.set_sale_price(sku="CHEAP", currency="EUR", amount=Decimal("5"))
    response = admin_client.get(reverse("admin:pricing_price_changelist") + "?on_sale=yes")
    assert [p.sku for p in response.context["cl"].queryset] == ["CHEAP"]


def test_promotion_status_filter_separates_active_scheduled_and_ended(admin_client):
    now = timezone.now()
    promotion(name="now")
    promotion(name="later", starts_at=now + timedelta(days=1))
    promotion(name="over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    url = reverse("admin:pricing_promotion_changelist")
    for status, name in [("active", "now"), ("scheduled", "later"), ("ended", "over")]:
        names = [p.name for p in admin_client.get(f"{url}?status={status}").context["cl"].queryset]
        assert names == [name]


def price_form(**overrides):
    return {
        "sku": "SKU-9",
        "currency": "EUR",
        "amount": "10.00",
        "sale_amount": "",
        "tax_class": "standard",
    } | overrides


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"sale_amount": "12.00"}, "sale_amount"),
        ({"currency": "JPY"}, "currency"),
        (
            {
                "sale_amount": "5",
                "sale_starts_at_0": "2030-01-02",
                "sale_starts_at_1": "00:00:00",
                "sale_ends_at_0": "2030-01-01",
                "sale_ends_at_1": "00:00:00",
            },
            "sale_ends_at",
        ),
    ],
)
def test_the_price_form_refuses_bad_input_and_saves_nothing(admin_client, overrides, field):
    response = admin_client.post(reverse("admin:pricing_price_add"), price_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Price.objects.exists()


def test_a_price_saved_in_the_admin_is_announced(admin_client, published):
    response = admin_client.post(reverse("admin:pricing_price_add"), price_form())
    assert response.status_code == 302
    assert Price.objects.get().amount == Decimal("10.00")
    assert published("pricing.PriceChanged")[-1]["new_amount"] == "10.00"


def promotion_form(**overrides):
    return {
        "name": "Summer",
        "kind": "percentage",
        "value": "10",
        "currency": "",
        "scope": "skus",
        "skus": "SKU-1, SKU-2",
        "category_ids": "",
        "min_subtotal": "0",
        "starts_at_0": "2020-01-01",
        "starts_at_1": "00:00:00",
        "priority": "0",
        "is_active": "on",
    } | overrides


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": "150"}, "value"),
        ({"scope": "categories"}, "category_ids"),
        ({"category_ids": "1, x"}, "category_ids"),
        ({"kind": "fixed", "value": "5"}, "currency"),
        ({"ends_at_0": "2019-01-01", "ends_at_1": "00:00:00"}, "ends_at"),
    ],
)
def test_the_promotion_form_refuses_bad_input(admin_client, overrides, field):
    response = admin_client.post(reverse("admin:pricing_promotion_add"), promotion_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Promotion.objects.exists()


def test_a_promotion_saved_in_the_admin_is_announced(admin_client, published):
    response = admin_client.post(reverse("admin:pricing_promotion_add"), promotion_form())
    assert response.status_code == 302
    saved = Promotion.objects.get()
    assert saved.skus == ["SKU-1", "SKU-2"]
    assert published("pricing.PromotionsChanged")[-1]["promotion_id"] == saved.pk


def test_voucher_page_shows_usage_read_only_with_redemptions_inline(admin_client):
    from uuid import uuid4

    from contexts.pricing import api as pricing_api

    voucher("WELCOME10", per_customer_limit=2)
    pricing_api.redeem_voucher(code="WELCOME10", order_id=uuid4(), customer_id=5, amount=Decimal("1"), currency="EUR")
    saved = Voucher.objects.get()
    response = admin_client.get(reverse("admin:pricing_voucher_change", args=[saved.pk]))
    assert response.status_code == 200
    assert "5: 1" in response.content.decode()
    assert "times_used" not in response.context["adminform"].form.fields


def test_the_voucher_form_refuses_a_code_taken_in_another_case(admin_client):
    voucher("SUMMER")
    response = admin_client.post(
        reverse("admin:pricing_voucher_add"),
        {
            "code": "summer",
            "kind": "percentage",
            "value": "10",
            "min_spend": "0",
            "is_active": "on",
            "redemptions-TOTAL_FORMS": "0",
            "redemptions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    assert Voucher.objects.count() == 1


def test_a_price_s_sku_and_currency_are_read_only_once_it_exists(admin_client):
    price("SKU-9", "10.00")
    saved = Price.objects.get()
    response = admin_client.get(reverse("admin:pricing_price_change", args=[saved.pk]))
    fields = response.context["adminform"].form.fields
    assert "sku" not in fields and "currency" not in fields
    assert {"sku", "currency"} <= set(
        admin_client.get(reverse("admin:pricing_price_add")).context["adminform"].form.fields
    )


def test_posting_another_sku_or_currency_to_a_saved_price_keeps_its_identity_and_announces_the_change(
    admin_client, published
):
    price("SKU-9", "10.00")
    saved = Price.objects.get()
    before = len(published("pricing.PriceChanged"))
    response = admin_client.post(
        reverse("admin:pricing_price_change", args=[saved.pk]), price_form(sku="OTHER", currency="USD", amount="12.00")
    )
    assert response.status_code == 302
    assert Price.objects.values_list("sku", "currency", "amount").get() == ("SKU-9", "EUR", Decimal("12.00"))
    (event,) = published("pricing.PriceChanged")[before:]
    assert (event["sku"], event["currency"], event["new_amount"]) == ("SKU-9", "EUR", "12.00")


def test_the_price_service_refuses_to_move_a_price_to_another_sku_or_currency(published):
    from contexts.pricing import services
    from contexts.pricing.exceptions import InvalidPrice

    price("SKU-9", "10.00")
    for field, value in (("sku", "OTHER"), ("currency", "USD")):
        edited = Price.objects.get()
        setattr(edited, field, value)
        with pytest.raises(InvalidPrice) as refused:
            services.save_price(edited)
        assert field in refused.value.errors
    assert Price.objects.values_list("sku", "currency").get() == ("SKU-9", "EUR")


def voucher_form(saved, **overrides):
    return {
        "code": saved.code,
        "kind": saved.kind,
        "value": str(saved.value),
        "min_spend": "0",
        "is_active": "on",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": str(saved.redemptions.count()),
    } | overrides


def test_a_voucher_s_usage_limit_cannot_go_below_the_uses_already_made(admin_client):
    from uuid import uuid4

    from contexts.pricing import api as pricing_api

    voucher("WELCOME10", usage_limit=5)
    for _ in range(3):
        pricing_api.redeem_voucher(
            code="WELCOME10", order_id=uuid4(), customer_id=None, amount=Decimal("1"), currency="EUR"
        )
    saved = Voucher.objects.get()
    url = reverse("admin:pricing_voucher_change", args=[saved.pk])
    response = admin_client.post(url, voucher_form(saved, usage_limit="2"))
    assert response.status_code == 200
    assert "usage_limit" in response.context["adminform"].form.errors
    assert Voucher.objects.get().usage_limit == 5
    assert admin_client.post(url, voucher_form(saved, usage_limit="3")).status_code == 302
    assert Voucher.objects.get().usage_limit == 3


def test_a_voucher_used_while_staff_lower_its_limit_is_an_admin_message_not_a_500(admin_client, monkeypatch):
    """Issue 9 point 17: the form judged the limit against 3 uses; a checkout redeems a fourth before the
    save, so the service refuses the limit. The admin shows that refusal; nothing changes."""
    from uuid import uuid4

    from contexts.pricing import admin as pricing_admin
    from contexts.pricing import api as pricing_api

    voucher("WELCOME10", usage_limit=5)
    for _ in range(3):
        pricing_api.redeem_voucher(
            code="WELCOME10", order_id=uuid4(), customer_id=None, amount=Decimal("1"), currency="EUR"
        )
    real_save = pricing_admin.services.save_voucher

    def checkout_redeems_first(obj):
        pricing_api.redeem_voucher(
            code="WELCOME10", order_id=uuid4(), customer_id=None, amount=Decimal("1"), currency="EUR"
        )
        real_save(obj)

    monkeypatch.setattr(pricing_admin.services, "save_voucher", checkout_redeems_first)
    saved = Voucher.objects.get()
    url = reverse("admin:pricing_voucher_change", args=[saved.pk])
    response = admin_client.post(url, voucher_form(saved, usage_limit="3"), follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("already been used 4 times" in message for message in shown), shown
    assert Voucher.objects.get().usage_limit == 5


def test_a_zone_taking_a_country_while_staff_save_another_is_an_admin_message_not_a_500(admin_client, monkeypatch):
    from contexts.pricing import admin as pricing_admin
    from contexts.pricing import api as pricing_api
    from contexts.pricing.models import ShippingZone

    real_save = pricing_admin.services.save_shipping_zone

    def another_admin_saves_first(obj):
        pricing_api.ensure_shipping_zone(name="EU", countries=["DE"])
        real_save(obj)

    monkeypatch.setattr(pricing_admin.services, "save_shipping_zone", another_admin_saves_first)
    response = admin_client.post(
        reverse("admin:pricing_shippingzone_add"), {"name": "DACH", "countries": ["DE", "AT"]}, follow=True
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("Already in another zone: DE (EU)" in message for message in shown), shown
    # (the simulated other save shares this request's transaction here, so it is rolled back with it)
    assert not ShippingZone.objects.filter(name="DACH").exists()
