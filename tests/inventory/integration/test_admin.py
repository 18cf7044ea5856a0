import pytest
from django.db.models import F
from django.urls import reverse

from contexts.inventory import api
from contexts.inventory.models import Reservation, StockLevel, StockMovement
from tests.inventory.factories import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(stock):
    stock("LOW-1", MAIN=2)
    stock("PLENTY-1", MAIN=100)
    api.reserve_stock(reference="o1", lines=[line("PLENTY-1", 1)])
    return StockLevel.objects.get(sku="PLENTY-1")


@pytest.mark.parametrize(
    "url",
    [
        "admin:inventory_warehouse_changelist",
        "admin:inventory_stocklevel_changelist",
        "admin:inventory_reservation_changelist",
        "admin:inventory_shipment_changelist",
        "admin:inventory_stockmovement_changelist",
    ],
)
def test_every_inventory_screen_opens(admin_client, stocked, url):
    assert admin_client.get(reverse(url)).status_code == 200


def listed(admin_client, url_name, **params):
    """What a changelist shows for these filters: the objects its ``ChangeList`` returned."""
    response = admin_client.get(reverse(url_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_stock_filters_and_sku_search_return_exactly_the_matching_levels(admin_client, stocked, stock):
    stock("GONE-1", MAIN=1)
    api.adjust_stock(sku="GONE-1", warehouse_code="MAIN", delta=-1, reason="lost", reference="", actor="bob")
    stock("LOW-1", BACKUP=50)
    url = "admin:inventory_stocklevel_changelist"
    key = lambda levels: sorted((level.sku, level.warehouse.code) for level in levels)  # noqa: E731
    # low: at or below the threshold (5) in that warehouse, out-of-stock included
    assert key(listed(admin_client, url, stock="low")) == [("GONE-1", "MAIN"), ("LOW-1", "MAIN")]
    assert key(listed(admin_client, url, stock="out")) == [("GONE-1", "MAIN")]
    assert len(listed(admin_client, url)) == 4
    assert key(listed(admin_client, url, q="PLENTY-1")) == [("PLENTY-1", "MAIN")]
    backup = StockLevel.objects.get(sku="LOW-1", warehouse__code="BACKUP").warehouse_id
    assert key(listed(admin_client, url, warehouse__id__exact=backup)) == [("LOW-1", "BACKUP")]


def test_reservation_filters_tell_active_from_expired(admin_client, stocked):
    api.reserve_stock(reference="o2", lines=[line("PLENTY-1", 1)])
    api.reserve_stock(reference="o3", lines=[line("PLENTY-1", 1)])
    api.release_reservation(reference="o3")
    Reservation.objects.filter(reference="o2").update(expires_at=F("created_at"))  # past expiry, not yet swept
    url = "admin:inventory_reservation_changelist"
    references = lambda rows: sorted(r.reference for r in rows)  # noqa: E731
    assert references(listed(admin_client, url, state="active")) == ["o1"]
    assert references(listed(admin_client, url, state="expired")) == ["o2"]
    assert references(listed(admin_client, url, status__exact="released")) == ["o3"]
    assert references(listed(admin_client, url, q="o1")) == ["o1"]


def test_adjustment_form_writes_a_ledger_movement_with_the_reason(admin_client, admin_user, stocked):
    url = reverse("admin:inventory_stocklevel_adjust", args=[stocked.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"delta": "-3", "reason": "damaged in transit", "reference": "T-9"})
    assert response.status_code == 302
    movement = StockMovement.objects.filter(sku="PLENTY-1").latest("id")
    assert (movement.quantity, movement.reason, movement.reference) == (-3, "damaged in transit", "T-9")
    assert movement.actor == admin_user.get_username()
    assert StockLevel.objects.get(pk=stocked.pk).on_hand == 97


def test_adjustment_form_shows_the_refusal_and_changes_nothing(admin_client, stocked):
    url = reverse("admin:inventory_stocklevel_adjust", args=[stocked.pk])
    response = admin_client.post(url, {"delta": "-100", "reason": "lost"})
    assert response.status_code == 200
    assert "Only 99" in response.content.decode()
    assert StockLevel.objects.get(pk=stocked.pk).on_hand == 100


def test_adjust_action_leads_to_the_form_for_the_selected_level(admin_client, stocked):
    response = admin_client.post(
        reverse("admin:inventory_stocklevel_changelist"), {"action": "adjust_stock", "_selected_action": [stocked.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_stocklevel_adjust", args=[stocked.pk])


def test_the_ledger_cannot_be_edited_in_the_admin(admin_client, stocked):
    movement = StockMovement.objects.first()
    page = admin_client.get(reverse("admin:inventory_stockmovement_change", args=[movement.pk]))
    assert page.status_code == 200
    assert 'name="quantity"' not in page.content.decode()
    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403


def test_deactivating_a_warehouse_in_the_admin_announces_the_availability_it_takes_away(admin_client, stock, published):
    stock("A", MAIN=2, BACKUP=5)
    stock("B", MAIN=1)
    before = len(published("inventory.StockLevelChanged"))
    backup = api.ensure_warehouse(code="BACKUP")
    url = reverse(
        "admin:inventory_warehouse_change", args=[StockLevel.objects.filter(warehouse__code="BACKUP")[0].warehouse_id]
    )
    response = admin_client.post(url, {"name": backup.name, "priority": "1"})  # "active" unticked
    assert response.status_code == 302
    assert not api.ensure_warehouse(code="BACKUP").active
    assert api.get_availability(skus=["A"])["A"].available == 2
    assert levels_changed(published)[before:] == [{"sku": "A", "available": 2, "in_stock": True}]


def test_changing_only_a_warehouse_priority_in_the_admin_saves_it_without_an_availability_event(
    admin_client, stock, published
):
    stock("A", MAIN=2, BACKUP=5)
    before = len(published("inventory.StockLevelChanged"))
    pk = StockLevel.objects.filter(warehouse__code="BACKUP")[0].warehouse_id
    response = admin_client.post(
        reverse("admin:inventory_warehouse_change", args=[pk]), {"name": "Backup", "priority": "50", "active": "on"}
    )
    assert response.status_code == 302
    backup = api.ensure_warehouse(code="BACKUP")
    assert (backup.name, backup.priority, backup.active) == ("Backup", 50, True)
    assert len(published("inventory.StockLevelChanged")) == before


def levels_changed(published):
    return [
        {key: payload[key] for key in ("sku", "available", "in_stock")}
        for payload in published("inventory.StockLevelChanged")
    ]


def test_releasing_a_committed_reservation_in_the_admin_says_why_not_and_releases_the_others(admin_client, stock):
    stock("A", MAIN=10)
    api.reserve_stock(reference="paid", lines=[line("A", 2)])
    api.commit_reservation(reference="paid")
    api.reserve_stock(reference="basket", lines=[line("A", 3)])
    url = reverse("admin:inventory_reservation_changelist")
    selected = list(Reservation.objects.filter(reference__in=["paid", "basket"]).values_list("pk", flat=True))
    response = admin_client.post(url, {"action": "release_reservations", "_selected_action": selected}, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any(text.startswith("paid: ") and "committed" in text for text in shown)
    assert "Released 1 reservation(s)." in shown
    assert api.get_reservation(reference="paid").status == "committed"
    assert api.get_reservation(reference="basket").status == "released"
    assert StockLevel.objects.get(sku="A").allocated == 2 and StockLevel.objects.get(sku="A").reserved == 0


def test_a_warehouse_priority_the_services_refuse_is_an_error_on_the_form_not_a_500(admin_client, stock, published):
    stock("A", BACKUP=5)
    pk = StockLevel.objects.get(sku="A").warehouse_id
    before = len(published("inventory.StockLevelChanged"))
    url = reverse("admin:inventory_warehouse_change", args=[pk])
    response = admin_client.post(url, {"name": "Backup", "priority": "2000000"})  # and "active" unticked
    assert response.status_code == 200
    assert "priority is a whole number from -1000000 to 1000000" in response.content.decode()
    backup = api.ensure_warehouse(code="BACKUP")
    assert (backup.name, backup.priority, backup.active) == ("Warehouse BACKUP", 1, True)
    assert len(published("inventory.StockLevelChanged")) == before


def test_a_new_warehouse_is_checked_and_saved_through_the_services(admin_client, db):
    url = reverse("admin:inventory_warehouse_add")
    refused = admin_client.post(url, {"code": "EAST", "name": "East", "priority": "-2000000", "active": "on"})
    assert refused.status_code == 200 and "priority is a whole number" in refused.content.decode()
    assert api.list_warehouses() == ()
    response = admin_client.post(url, {"code": " EAST ", "name": "East", "priority": "3"})  # created switched off
    assert response.status_code == 302
    assert api.list_warehouses() == (api.Warehouse(code="EAST", name="East", priority=3, active=False),)
