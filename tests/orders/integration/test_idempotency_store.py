"""The Idempotency-Key store on its own (the kernel's, as orders configures it): claim, replay,
conflicts, take-over after a crash, pruning."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from commerce.database import database_for
from commerce.idempotency.keys import (
    Claim,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
    StoredResponse,
    clean_key,
)
from commerce.idempotency.models import IdempotencyRecord
from contexts.orders import services

keys = services.idempotency_keys

pytestmark = pytest.mark.django_db


def orders_records():
    """The orders context's stored answers, in its database (the kernel's table is in every one)."""
    return IdempotencyRecord.objects.using(database_for("orders"))


def test_a_completed_key_replays_its_answer_for_the_same_request():
    claim = keys.claim(scope="customer:1", key="k", fingerprint="f1")
    assert isinstance(claim, Claim)
    keys.complete(claim, status=201, body={"id": "x"})
    stored = keys.claim(scope="customer:1", key="k", fingerprint="f1")
    assert isinstance(stored, StoredResponse) and (stored.status, stored.body) == (201, {"id": "x"})


def test_the_same_key_with_another_request_is_refused():
    keys.claim(scope="customer:1", key="k", fingerprint="f1")
    with pytest.raises(IdempotencyKeyReused):
        keys.claim(scope="customer:1", key="k", fingerprint="f2")


def test_keys_are_scoped_to_the_caller():
    keys.claim(scope="customer:1", key="k", fingerprint="f1")
    assert isinstance(keys.claim(scope="customer:2", key="k", fingerprint="f2"), Claim)


def test_a_running_request_answers_in_progress_with_a_retry_delay():
    keys.claim(scope="customer:1", key="k", fingerprint="f1")
    with pytest.raises(RequestInProgress) as busy:
        keys.claim(scope="customer:1", key="k", fingerprint="f1")
    assert busy.value.retry_after >= 1


def test_a_claim_left_by_a_dead_process_is_taken_over_once_its_lock_expired():
    first = keys.claim(scope="customer:1", key="k", fingerprint="f1")
    orders_records().update(locked_until=timezone.now() - timedelta(seconds=1))
    assert keys.claim(scope="customer:1", key="k", fingerprint="f1") == first, "the same claim: its work is found"
    with pytest.raises(RequestInProgress):
        keys.claim(scope="customer:1", key="k", fingerprint="f1")


def test_keys_must_be_present_and_at_most_255_printable_characters():
    with pytest.raises(IdempotencyKeyRequired):
        clean_key(None)
    with pytest.raises(IdempotencyKeyRequired):
        clean_key("")
    assert clean_key("a" * 255) == "a" * 255
    for bad in ("a" * 256, "tab\there", " padded", "clé", "k\u00a0k"):
        with pytest.raises(ValidationError):
            clean_key(bad)


def test_a_released_claim_is_taken_over_at_once_by_the_retry_and_a_discarded_one_is_forgotten():
    """An unexpected error releases the claim: the retry of the same request gets it back (and finds the
    work it started). A body refused before any work discards it: the key is free for another body."""
    released = keys.claim(scope="customer:1", key="crashed", fingerprint="f1")
    keys.release(released)
    with pytest.raises(IdempotencyKeyReused):
        keys.claim(scope="customer:1", key="crashed", fingerprint="f2")
    assert keys.claim(scope="customer:1", key="crashed", fingerprint="f1") == released

    discarded = keys.claim(scope="customer:1", key="refused", fingerprint="f1")
    keys.discard(discarded)
    taken = keys.claim(scope="customer:1", key="refused", fingerprint="f2")
    assert isinstance(taken, Claim) and taken.id != discarded.id


def test_a_key_pruned_and_used_again_is_a_new_claim():
    first = keys.claim(scope="customer:1", key="k", fingerprint="f1")
    keys.complete(first, status=201, body={"id": "x"})
    orders_records().update(created_at=timezone.now() - timedelta(days=3))
    services.prune_idempotency_records()
    again = keys.claim(scope="customer:1", key="k", fingerprint="f2")
    assert isinstance(again, Claim) and again.id != first.id


def test_records_are_kept_at_least_a_day_then_pruned(settings):
    settings.ORDERS_IDEMPOTENCY_RETENTION_HOURS = 1  # below the floor: a day is kept anyway
    keys.claim(scope="s", key="old", fingerprint="f")
    keys.claim(scope="s", key="recent", fingerprint="f")
    orders_records().filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    orders_records().filter(key="recent").update(created_at=timezone.now() - timedelta(hours=23))
    assert services.prune_idempotency_records() == 1
    assert list(orders_records().values_list("key", flat=True)) == ["recent"]


def test_the_pruning_job_is_declared_periodic():
    from commerce.periodic import jobs

    names = {job.name for job in jobs()}
    assert {"orders.prune_idempotency_records", "orders.recover_stuck_checkouts"} <= names


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_moves_stored_answers_to_the_kernel_and_a_running_checkout_keeps_its_order():
    """orders 0004: a record of the orders table moves with its answer and age, and the order a running
    checkout created under it (keyed by the old digest of caller and key) is keyed by the new claim."""
    import hashlib

    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[database_for("orders")]
    before, after = [("orders", "0003_order_cancel_permission")], [("orders", "0004_idempotency_records_in_the_kernel")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        created = timezone.now() - timedelta(hours=30)
        old_records = old.get_model("orders", "IdempotencyRecord").objects.using(connection.alias)
        old_records.create(scope="customer:1", key="running", fingerprint="f1", locked_until=timezone.now())
        old_records.create(
            scope="customer:1",
            key="done",
            fingerprint="f2",
            response_status=402,
            response_body={"x": 1},
            completed_at=timezone.now(),
        )
        old_records.update(created_at=created)
        digest = hashlib.sha256(b"customer:1\nrunning").hexdigest()
        old.get_model("orders", "Order").objects.using(connection.alias).create(
            number="100001", currency="EUR", checkout_key=digest
        )

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)

        records = {record.key: record for record in orders_records()}
        assert set(records) == {"running", "done"} and {r.created_at for r in records.values()} == {created}
        assert (records["done"].response_status, records["done"].response_body) == (402, {"x": 1})
        # The order as the schema stands right after 0004 (later migrations add columns the current model has).
        historical_order = executor.loader.project_state(after).apps.get_model("orders", "Order")
        order = historical_order.objects.using(connection.alias).get()
        assert order.checkout_key == f"claim:{records['running'].claim}"
        assert keys.claim(scope="customer:1", key="done", fingerprint="f2") == StoredResponse(status=402, body={"x": 1})
    finally:  # the schema as the other tests expect it
        MigrationExecutor(connection).migrate(latest)
