"""The Idempotency-Key store on its own: claim, replay, conflicts, take-over after a crash, pruning."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contexts.orders import services
from contexts.orders.exceptions import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
)
from contexts.orders.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def test_a_completed_key_replays_its_answer_for_the_same_request():
    assert services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1") is None
    services.complete_idempotency_key(scope="customer:1", key="k", status=201, body={"id": "x"})
    stored = services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    assert (stored.status, stored.body) == (201, {"id": "x"})


def test_the_same_key_with_another_request_is_refused():
    services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    with pytest.raises(IdempotencyKeyReused):
        services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f2")


def test_keys_are_scoped_to_the_caller():
    services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    assert services.claim_idempotency_key(scope="customer:2", key="k", fingerprint="f2") is None


def test_a_running_request_answers_in_progress_with_a_retry_delay():
    services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    with pytest.raises(RequestInProgress) as busy:
        services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    assert busy.value.retry_after >= 1


def test_a_claim_left_by_a_dead_process_is_taken_over_once_its_lock_expired():
    services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")
    IdempotencyRecord.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1") is None
    with pytest.raises(RequestInProgress):
        services.claim_idempotency_key(scope="customer:1", key="k", fingerprint="f1")


def test_keys_must_be_present_and_at_most_255_printable_characters():
    with pytest.raises(IdempotencyKeyRequired):
        services.clean_idempotency_key(None)
    with pytest.raises(IdempotencyKeyRequired):
        services.clean_idempotency_key("")
    assert services.clean_idempotency_key("a" * 255) == "a" * 255
    for bad in ("a" * 256, "tab\there", " padded"):
        with pytest.raises(IdempotencyKeyInvalid):
            services.clean_idempotency_key(bad)


def test_records_are_kept_at_least_a_day_then_pruned(settings):
    settings.ORDERS_IDEMPOTENCY_RETENTION_HOURS = 1  # below the floor: a day is kept anyway
    services.claim_idempotency_key(scope="s", key="old", fingerprint="f")
    services.claim_idempotency_key(scope="s", key="recent", fingerprint="f")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyRecord.objects.filter(key="recent").update(created_at=timezone.now() - timedelta(hours=23))
    assert services.prune_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_the_pruning_job_is_declared_periodic():
    from commerce.periodic import jobs

    names = {job.name for job in jobs()}
    assert {"orders.prune_idempotency_records", "orders.recover_stuck_checkouts"} <= names
