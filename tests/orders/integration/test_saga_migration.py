"""Migration 0005 moves each order's saga state into its own row and keeps its log under it (and goes back);
0006 records customers erased before (their orders were anonymised)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from commerce.database import database_for

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE, AFTER = [("orders", "0004_idempotency_records_in_the_kernel")], [("orders", "0006_customer_erasure")]


def migrate(connection, targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_sagas_keep_their_state_lease_attempts_failure_and_log():
    connection = connections[database_for("orders")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("orders")
    now = timezone.now()
    try:
        old = migrate(connection, BEFORE)
        Order, SagaStep = old.get_model("orders", "Order"), old.get_model("orders", "SagaStep")
        failed = Order.objects.using(connection.alias).create(
            id=uuid.uuid4(),
            number="100001",
            status="failed",
            customer_id=7,
            currency="EUR",
            saga_state="compensated",
            saga_attempts=2,
            failure_code="payment_declined",
            failure_detail="The card was declined.",
            failure_extra={"http_status": 402, "order_id": "x"},
            anonymised_at=now,
        )
        running = Order.objects.using(connection.alias).create(
            id=uuid.uuid4(),
            number="100002",
            currency="EUR",
            saga_lease_holder="abc",
            saga_lease_until=now,
        )
        for offset, (name, compensation) in enumerate(
            [("create_order", False), ("reserve_stock", False), ("authorize_payment", False)]
        ):
            SagaStep.objects.using(connection.alias).create(
                order=running,
                name=name,
                compensation=compensation,
                outcome="done",
                started_at=now + timedelta(seconds=offset),
                duration_ms=1,
            )

        new = migrate(connection, AFTER)

        CheckoutSaga = new.get_model("orders", "CheckoutSaga")
        sagas = {saga.order_id: saga for saga in CheckoutSaga.objects.using(connection.alias).all()}
        gone = sagas[failed.pk]
        assert (gone.state, gone.attempts, gone.failure_code, gone.failure_status) == (
            "compensated",
            2,
            "payment_declined",
            402,
        )
        assert (gone.failure_detail, gone.failure_extra, gone.position) == (
            "The card was declined.",
            {"order_id": "x"},
            "",
        )
        alive = sagas[running.pk]
        assert (alive.state, alive.position, alive.lease_holder, alive.lease_until) == (
            "running",
            "authorize_payment",
            "abc",
            now,
        )
        log = new.get_model("orders", "SagaStep").objects.using(connection.alias).filter(saga_id=running.pk)
        assert log.count() == 3
        erased = new.get_model("orders", "CustomerErasure").objects.using(connection.alias).get()
        assert (erased.customer_id, erased.erased_at) == (7, now)
    finally:
        migrate(connection, latest)


def test_going_back_numbers_the_orders_that_have_none_so_the_column_can_be_required_again():
    """Since 0005 a pending or failed order has no number; before it, every order had one."""
    connection = connections[database_for("orders")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("orders")
    try:
        new = migrate(connection, latest)
        orders = new.get_model("orders", "Order").objects.using(connection.alias)
        failed = orders.create(currency="EUR", status="failed")
        orders.create(currency="EUR", status="confirmed", number="100001")

        old = migrate(connection, BEFORE)

        numbers = dict(old.get_model("orders", "Order").objects.using(connection.alias).values_list("pk", "number"))
        assert numbers[failed.pk] == f"F{failed.pk.hex[:12]}" and sorted(numbers.values())[0] == "100001"
    finally:
        migrate(connection, latest)
