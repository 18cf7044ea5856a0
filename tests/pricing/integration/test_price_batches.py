"""set_base_prices / check_base_prices: an import's prices in one transaction, all or nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from contexts.pricing import api as pricing_api
from contexts.pricing.models import Price
from tests.pricing.factories import price, pricing_connection

pytestmark = pytest.mark.django_db
D = Decimal


def item(sku: str, amount: str, currency: str = "EUR") -> pricing_api.PriceInput:
    return pricing_api.PriceInput(sku=sku, currency=currency, amount=D(amount))


def batch(count: int, amount: str = "10.00", *, prefix: str = "SKU") -> list[pricing_api.PriceInput]:
    return [item(f"{prefix}-{n:05}", amount) for n in range(count)]


def changes(published) -> list[tuple[str, str, str | None, str | None]]:
    return [(e["sku"], e["currency"], e["old_amount"], e["new_amount"]) for e in published("pricing.PriceChanged")]


def stored() -> dict[tuple[str, str], Decimal]:
    return {(p.sku, p.currency): p.amount for p in Price.objects.all()}


def test_a_batch_creates_every_price_and_announces_each_once(published):
    result = pricing_api.set_base_prices(
        prices=[item("A", "10.00"), item("B", "5.5"), item("A", "9.00", currency="USD")]
    )
    assert result == pricing_api.PriceBatchResult(created=3, updated=0, unchanged=0)
    assert stored() == {("A", "EUR"): D("10.00"), ("B", "EUR"): D("5.50"), ("A", "USD"): D("9.00")}
    assert sorted(changes(published)) == [
        ("A", "EUR", None, "10.00"),
        ("A", "USD", None, "9.00"),
        ("B", "EUR", None, "5.50"),
    ]


def test_a_batch_priced_sku_lists_like_one_set_by_set_base_price():
    pricing_api.set_base_prices(prices=[item("A", "10.00")])
    price("B", "10.00")
    listed = pricing_api.prices_for(skus=["A", "B"], currency="EUR")
    assert (listed["A"].base_amount, listed["A"].amount) == (listed["B"].base_amount, listed["B"].amount)
    assert Price.objects.get(sku="A").announced_amount == D("10.00")


def test_re_running_the_same_batch_writes_and_publishes_nothing(published, django_assert_max_num_queries):
    prices = batch(50)
    pricing_api.set_base_prices(prices=prices)
    before = {p.sku: p.updated_at for p in Price.objects.all()}
    events = len(published())
    with django_assert_max_num_queries(3, connection=pricing_connection()):  # savepoint, read, release
        result = pricing_api.set_base_prices(prices=prices)
    assert result == pricing_api.PriceBatchResult(created=0, updated=0, unchanged=50)
    assert {p.sku: p.updated_at for p in Price.objects.all()} == before
    assert len(published()) == events


def test_only_prices_that_differ_are_written_and_announced(published):
    pricing_api.set_base_prices(prices=[item("A", "10.00"), item("B", "10.00"), item("C", "10.00")])
    first = len(published("pricing.PriceChanged"))
    untouched = Price.objects.get(sku="A").updated_at

    result = pricing_api.set_base_prices(prices=[item("A", "10"), item("B", "12.00"), item("D", "3.00")])

    assert result == pricing_api.PriceBatchResult(created=1, updated=1, unchanged=1)
    assert Price.objects.get(sku="A").updated_at == untouched
    assert sorted(changes(published)[first:]) == [("B", "EUR", "10.00", "12.00"), ("D", "EUR", None, "3.00")]
    assert stored()[("C", "EUR")] == D("10.00")  # not in the batch: left alone


def test_a_base_change_under_a_running_sale_is_announced_with_the_unchanged_effective_price(published):
    price("A", "20.00")
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"))
    result = pricing_api.set_base_prices(prices=[item("A", "25.00")])
    assert result.updated == 1
    assert changes(published)[-1] == ("A", "EUR", "15.00", "15.00")  # as set_base_price: base moved, listing refreshes
    assert Price.objects.get(sku="A").announced_amount == D("15.00")


def test_the_batch_and_the_single_call_agree_on_events_and_state(published):
    price("A", "20.00")
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"))
    price("B", "7.00")
    start = len(published())
    pricing_api.set_base_prices(prices=[item("A", "30.00"), item("B", "8.00"), item("C", "1.00")])
    batched = changes(published)[start:], stored()

    Price.objects.all().delete()
    price("A", "20.00")
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"))
    price("B", "7.00")
    start = len(published())
    for sku, amount in (("A", "30.00"), ("B", "8.00"), ("C", "1.00")):
        price(sku, amount)
    assert (changes(published)[start:], stored()) == batched


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (item("BAD", "0"), "amount"),
        (item("BAD", "-1"), "amount"),
        (item("BAD", "1.001"), "amount"),
        (item("BAD", "NaN"), "amount"),
        (item("BAD", "99999999999"), "amount"),
        (item("BAD", "10", currency="JPY"), "currency"),
        (item("  ", "10"), "sku"),
        (item("X" * 65, "10"), "sku"),
        (item("SKU-00001", "11.00"), "sku"),  # the same SKU and currency twice in the batch
    ],
)
def test_one_bad_item_refuses_the_whole_batch_and_nothing_is_written(bad, field, published):
    prices = [*batch(3), bad, *batch(2, prefix="MORE")]
    with pytest.raises(pricing_api.InvalidPriceBatch) as caught:
        pricing_api.set_base_prices(prices=prices)
    refusal = caught.value
    assert isinstance(refusal, pricing_api.InvalidPrice) and refusal.code == "invalid" and refusal.http_status == 400
    assert list(refusal.items) == [3] and field in refusal.items[3][1]
    assert f"prices[3].{field}" in refusal.extra()["errors"]
    assert refusal.extra()["items"][0]["index"] == 3
    assert not Price.objects.exists()
    assert published() == []


def test_every_bad_item_is_listed_not_only_the_first():
    with pytest.raises(pricing_api.InvalidPriceBatch) as caught:
        pricing_api.set_base_prices(prices=[item("A", "0"), item("B", "1"), item("C", "-2"), item("D", "1.5")])
    assert list(caught.value.items) == [0, 2]
    assert caught.value.skus == ("A", "C")
    assert "2 of the prices are not valid" in caught.value.detail


def test_a_base_below_a_running_sale_refuses_the_batch_up_front(published):
    price("A", "20.00")
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"))
    events = len(published())
    prices = [item("NEW", "5.00"), item("A", "14.99")]

    with pytest.raises(pricing_api.InvalidPriceBatch) as checked:
        pricing_api.check_base_prices(prices=prices)
    assert list(checked.value.items) == [1] and "sale_amount" in checked.value.items[1][1]

    with pytest.raises(pricing_api.InvalidPriceBatch) as written:
        pricing_api.set_base_prices(prices=prices)
    assert written.value.errors == checked.value.errors
    assert stored() == {("A", "EUR"): D("20.00")}
    assert len(published()) == events


def test_the_sale_rule_matches_set_base_price():
    price("A", "20.00")
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"))
    with pytest.raises(pricing_api.InvalidPrice) as single:
        pricing_api.set_base_price(sku="A", currency="EUR", amount=D("14.00"))
    with pytest.raises(pricing_api.InvalidPrice) as batched:
        pricing_api.check_base_prices(prices=[item("A", "14.00")])
    assert list(single.value.errors) == [field for _sku, errors in batched.value.items.values() for field in errors]
    pricing_api.check_base_prices(prices=[item("A", "15.00")])  # equal to the sale price is allowed


def test_a_scheduled_sale_also_bounds_the_base_price_as_for_set_base_price():
    price("A", "20.00")
    later = timezone.now() + timedelta(days=3)
    pricing_api.set_sale_price(sku="A", currency="EUR", amount=D("15.00"), starts_at=later)
    with pytest.raises(pricing_api.InvalidPrice):
        pricing_api.set_base_price(sku="A", currency="EUR", amount=D("14.00"))
    with pytest.raises(pricing_api.InvalidPriceBatch):
        pricing_api.check_base_prices(prices=[item("A", "14.00")])


def test_checking_a_batch_writes_nothing_and_takes_one_query(published, django_assert_max_num_queries):
    with django_assert_max_num_queries(1, connection=pricing_connection()):
        pricing_api.check_base_prices(prices=batch(1000))
    assert not Price.objects.exists() and published() == []


def test_an_empty_batch_does_nothing(django_assert_max_num_queries):
    with django_assert_max_num_queries(0, connection=pricing_connection()):
        assert pricing_api.set_base_prices(prices=[]) == pricing_api.PriceBatchResult(created=0, updated=0, unchanged=0)
        pricing_api.check_base_prices(prices=[])


@override_settings(PRICING_MAX_PRICE_BATCH=10)
def test_a_batch_above_the_limit_is_refused_with_the_limit(published):
    pricing_api.set_base_prices(prices=batch(10))
    with pytest.raises(pricing_api.PriceBatchTooLarge) as caught:
        pricing_api.set_base_prices(prices=batch(11, "12.00"))
    assert caught.value.extra()["max_items"] == 10 and caught.value.code == "invalid"
    with pytest.raises(pricing_api.PriceBatchTooLarge):
        pricing_api.check_base_prices(prices=batch(11))
    assert set(stored().values()) == {D("10.00")}


def test_the_default_limit_is_five_thousand():
    with pytest.raises(pricing_api.PriceBatchTooLarge):
        pricing_api.check_base_prices(prices=batch(5001))


def _split(captured) -> tuple[list[str], list[str]]:
    sql = [query["sql"] for query in captured.captured_queries]
    events = [q for q in sql if "eventbus_" in q]
    return [q for q in sql if "eventbus_" not in q], events


# pricing's own statements for 1 000 items: savepoint, read, insert(s), update(s), release. SQLite
# caps parameters per statement (999), so Django sends its inserts in chunks of ~110 rows (9 columns
# since the tax class) and its updates in chunks of ~200; PostgreSQL sends one of each (updates by
# 1 000 rows).
PRICE_QUERIES_PER_1000 = 13


def test_a_first_write_of_1000_prices_takes_a_constant_number_of_queries(django_assert_max_num_queries):
    with django_assert_max_num_queries(PRICE_QUERIES_PER_1000 + 2 * 1000, connection=pricing_connection()) as captured:
        result = pricing_api.set_base_prices(prices=batch(1000))
    assert result.created == 1000
    own, events = _split(captured)
    assert len(own) <= PRICE_QUERIES_PER_1000
    assert len(events) <= 2 * 1000  # the outbox row and its deliveries, per PriceChanged (the kernel's publish)


def test_changing_1000_prices_takes_a_constant_number_of_queries(django_assert_max_num_queries):
    pricing_api.set_base_prices(prices=batch(1000))
    with django_assert_max_num_queries(PRICE_QUERIES_PER_1000 + 2 * 1000, connection=pricing_connection()) as captured:
        result = pricing_api.set_base_prices(prices=batch(1000, "11.00"))
    assert result.updated == 1000
    own, _events = _split(captured)
    assert len(own) <= PRICE_QUERIES_PER_1000  # PostgreSQL: savepoint, read, one UPDATE, release
    assert set(stored().values()) == {D("11.00")}


def test_the_query_count_does_not_grow_with_the_batch(django_assert_max_num_queries):
    pricing_api.set_base_prices(prices=batch(10))
    with django_assert_max_num_queries(4, connection=pricing_connection()):
        pricing_api.set_base_prices(prices=batch(10))
    pricing_api.set_base_prices(prices=batch(1000, prefix="BIG"))
    with django_assert_max_num_queries(4, connection=pricing_connection()):
        pricing_api.set_base_prices(prices=batch(1000, prefix="BIG"))
