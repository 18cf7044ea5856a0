"""Upgrading keeps the customers' message history: identity's old tables move into notifications' own
(``notifications/0002``), ids and all, and only then does identity drop them (``identity/0004``). Run in
the order ``migrate_all`` runs the databases, so it holds in split mode as in the embedded default."""

import importlib
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from commerce.database import database_for
from commerce.eventbus.models import Delivery, OutboxMessage
from contexts.notifications.models import Message, OrderContact

BEFORE = [("identity", "0003_token_generation"), ("notifications", "0001_initial")]
LEGACY = ("identity_notification", "identity_ordercontact")


def aliases() -> list[str]:
    """Every database holding identity or notifications, ``default`` first (as ``migrate_all`` does)."""
    return list(dict.fromkeys(["default", database_for("identity"), database_for("notifications")]))


def tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


@pytest.fixture
def before_the_move():
    """The databases as an installation left them before notifications existed apart: identity's tables
    (made again from identity 0003's models), notifications' empty; put back to the current ones after."""
    for alias in aliases():
        MigrationExecutor(connections[alias]).migrate(BEFORE)
    identity_db = connections[database_for("identity")]
    state = MigrationExecutor(identity_db).loader.project_state(BEFORE[0])
    old = {name: state.apps.get_model("identity", name) for name in ("Notification", "OrderContact")}
    with identity_db.schema_editor() as editor:
        for model in old.values():
            if model._meta.db_table not in tables(identity_db.alias):
                editor.create_model(model)
    yield old
    for alias in aliases():
        executor = MigrationExecutor(connections[alias])
        executor.migrate(executor.loader.graph.leaf_nodes())


def upgrade() -> None:
    for alias in aliases():
        executor = MigrationExecutor(connections[alias])
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_moves_the_messages_and_order_contacts_then_drops_identitys_tables(before_the_move):
    identity = database_for("identity")
    Notification, OrderContactBefore = before_the_move["Notification"], before_the_move["OrderContact"]
    order_id = uuid.uuid4()
    sent_at = timezone.now() - timedelta(days=3)
    for pk, kind in ((41, "welcome"), (42, "order_confirmation")):
        Notification.objects.using(identity).create(
            id=pk, event_id=uuid.uuid4(), kind=kind, customer_id=7, order_id=order_id if pk == 42 else None,
            order_number="100042", recipient="ann@example.com", subject=f"Subject {pk}", body_text="Text",
            body_html="<p>Html</p>", status="sent", attempts=1, created_at=sent_at, sent_at=sent_at,
        )  # fmt: skip
    OrderContactBefore.objects.using(identity).create(order_id=order_id, number="100042", customer_id=7, email="a@x.io")
    # a dispatch alert still owed to the old subscription (its order's OrderPlaced had not arrived)
    inventory = database_for("inventory")
    owed = OutboxMessage.objects.using(inventory).create(
        event_id=uuid.uuid4(), event_type="inventory.ShipmentDispatched", payload={}, occurred_at=timezone.now()
    )
    Delivery.objects.using(inventory).create(
        message=owed, subscription="identity.alert_customer_when_shipment_dispatched", next_attempt_at=timezone.now()
    )

    upgrade()

    moved = {m.pk: m for m in Message.objects.all()}
    assert set(moved) == {41, 42}  # the ids customers saw at /me/notifications stay theirs
    assert (moved[42].kind, moved[42].order_id, moved[42].recipient, moved[42].sent_at) == (
        "order_confirmation",
        order_id,
        "ann@example.com",
        sent_at,
    )
    assert moved[41].body_html == "<p>Html</p>" and moved[41].status == "sent"
    contact = OrderContact.objects.get()
    assert (contact.order_id, contact.email) == (order_id, "a@x.io")
    assert LEGACY[0] not in tables(identity) and LEGACY[1] not in tables(identity)
    assert Delivery.objects.using(inventory).get(message=owed).subscription == (
        "notifications.alert_customer_when_shipment_dispatched"
    )
    newer = Message.objects.create(event_id=uuid.uuid4(), kind="welcome", subject="Hi", recipient="b@x.io")
    assert newer.pk > 42  # new messages continue after the moved ones (PostgreSQL's identity sequence)


@pytest.mark.django_db(transaction=True)
def test_a_new_installation_has_nothing_to_move(before_the_move):
    upgrade()
    assert not Message.objects.exists()
    assert not set(LEGACY) & tables(database_for("identity"))


@pytest.fixture
def before_public_ids():
    """notifications' database as it was before messages had a public id and the event's time (``0002``)."""
    executor = MigrationExecutor(connections[database_for("notifications")])
    executor.migrate([("notifications", "0002_move_from_identity")])
    yield executor.loader.project_state(("notifications", "0002_move_from_identity")).apps.get_model(
        "notifications", "Message"
    )
    upgrade()


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_gives_existing_messages_the_public_id_of_their_event_and_kind(before_public_ids, monkeypatch):
    """Messages recorded before the upgrade get the id a new recording of the same event and kind gets, so two
    deployables upgraded apart (the monolith's copy, the service's imported one) show the customer the same."""
    alias = database_for("notifications")
    recorded_at = timezone.now() - timedelta(days=40)
    old = [
        before_public_ids.objects.using(alias).create(
            event_id=uuid.uuid4(),
            kind=kind,
            customer_id=7,
            recipient="ann@example.com",
            subject=kind,
            status="sent",
            created_at=recorded_at + timedelta(minutes=number),
        )
        for number, kind in enumerate(("welcome", "order_confirmation", "order_dispatched"))
    ]
    fill = importlib.import_module("contexts.notifications.migrations.0004_fill_public_id_and_occurred_at")
    monkeypatch.setattr(fill, "BATCH_SIZE", 2)  # several batches, each committed on its own

    upgrade()

    for before in old:
        after = Message.objects.get(pk=before.pk)
        assert after.public_id == uuid.uuid5(
            uuid.UUID("3a48e981-2668-44dd-b3b1-dca821c76835"), f"{before.event_id}:{before.kind}"
        )
        assert after.occurred_at == before.created_at  # the closest to the event's time it knows
    newer = Message.objects.create(event_id=old[0].event_id, kind="order_cancelled", subject="Cancelled")
    assert newer.public_id not in {m.public_id for m in Message.objects.exclude(pk=newer.pk)}
