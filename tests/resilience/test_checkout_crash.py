"""A process killed in the middle of a checkout (issue 16 item 3): the gunicorn worker serving it is
SIGKILLed right after a saga step (it blocks at the step's checkpoint until killed), and the
recovery job — or the client's retry with the same Idempotency-Key — heals the order: confirmed with
its money taken once, or failed with the stock, the voucher and the money given back."""

import os
import signal
import sys
import time
import uuid

import pytest
from django.utils import timezone

from contexts.orders.models import CheckoutSaga, GatewayCharge, GatewayRefund, Order, SagaStep
from tests.resilience.support import QUICK_TAKEOVER, retry_until_answered, wait_for
from tests.support.checkout import available, build_shop, checkout_body, new_cart, voucher_uses

pytestmark = pytest.mark.django_db(transaction=True)

RECOVERY = ["recover_checkouts", "--older-than", "0"]
# The recovery job in a process of its own with the fault point installed.
RECOVERY_WITH_FAULTS = (
    "import tests.resilience.faulty_celery\n"
    "from django.core.management import call_command\n"
    "call_command('recover_checkouts', '--older-than', '0')\n"
)


@pytest.fixture
def shop(transactional_db):
    build_shop()


def kill_checkout_after(processes, step: str, key: str):
    """Start gunicorn, send a checkout, SIGKILL the worker serving it right after ``step``; the web
    server (its master has started a new worker meanwhile) and the cart."""
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))
    web = processes.gunicorn(RESILIENCE_BLOCK_AT=f"saga:{step}", **QUICK_TAKEOVER)
    body = checkout_body(cart_id)
    first = web.request_in_background("POST", "/api/v1/checkout", body, {"Idempotency-Key": key})
    worker = processes.wait_for_fault(log=web.log)
    os.kill(worker, signal.SIGKILL)
    first["thread"].join(timeout=60)
    assert "error" in first, f"the killed worker answered: {first.get('response')}"
    wait_for(web.answers, timeout=120, what="gunicorn's new worker", log=web.log)
    return web, body


def wait_for_the_lease_to_run_out() -> None:
    """The dead runner's lease (3 s here) has to run out before anyone may take its saga over."""
    wait_for(
        lambda: CheckoutSaga.objects.filter(state="running", lease_until__lt=timezone.now()).exists(),
        timeout=30,
        what="the dead runner's lease to run out",
    )


def run_recovery_until_healed(processes, *, timeout: float = 60) -> None:
    wait_for_the_lease_to_run_out()
    deadline = time.monotonic() + timeout
    while "Healed 1 checkout" not in (output := processes.manage(*RECOVERY)):
        assert time.monotonic() < deadline, f"the recovery job healed nothing within {timeout}s: {output}"
        time.sleep(0.5)


def test_a_web_worker_killed_after_the_capture_is_finished_by_the_retry_and_charges_once(shop, processes):
    key = uuid.uuid4().hex
    web, body = kill_checkout_after(processes, "capture_payment", key)

    order = Order.objects.get()
    assert (order.status, CheckoutSaga.objects.get(pk=order.pk).state) == ("pending", "running")
    assert GatewayCharge.objects.get().status == "captured"

    status, _, answer = retry_until_answered(web, body, key)

    assert status == 201, answer
    assert answer["id"] == str(order.pk) and answer["status"] == "confirmed"
    order.refresh_from_db()
    assert (order.status, CheckoutSaga.objects.get(pk=order.pk).state) == ("confirmed", "completed")
    charge = GatewayCharge.objects.get()  # one charge, captured once, nothing refunded
    assert charge.captured == order.total and charge.refunded == 0
    assert not GatewayRefund.objects.exists()
    assert available("TEE-M") == 8 and voucher_uses() == 1
    assert Order.objects.count() == 1
    # the recovery job finds nothing left to do; the same key once more replays the same answer
    assert "Healed 0 checkout" in processes.manage(*RECOVERY)
    status, headers, again = web.request("POST", "/api/v1/checkout", body, headers={"Idempotency-Key": key})
    assert (status, again) == (201, answer) and headers.get("Idempotent-Replayed") == "true"
    assert GatewayCharge.objects.count() == 1 and Order.objects.count() == 1


def test_a_web_worker_killed_before_the_money_is_compensated_by_the_recovery_job(shop, processes):
    key = uuid.uuid4().hex
    web, body = kill_checkout_after(processes, "authorize_payment", key)
    order = Order.objects.get()
    assert available("TEE-M") == 8 and voucher_uses() == 1  # held by the dead checkout

    run_recovery_until_healed(processes)

    order.refresh_from_db()
    assert (order.status, CheckoutSaga.objects.get(pk=order.pk).state) == ("failed", "compensated")
    assert available("TEE-M") == 10 and voucher_uses() == 0
    assert GatewayCharge.objects.get().status == "voided"
    assert SagaStep.objects.filter(saga_id=order.pk, compensation=True, outcome="done").count() == 5
    # the client's retry gets the order's outcome, never a second order or a second charge
    status, _, answer = retry_until_answered(web, body, key)
    assert status == 409 and answer["code"] == "checkout_failed" and answer["order_id"] == str(order.pk)
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1


def test_the_recovery_job_killed_while_it_heals_a_checkout_is_healed_by_its_next_run(shop, processes):
    key = uuid.uuid4().hex
    web, body = kill_checkout_after(processes, "capture_payment", key)
    order = Order.objects.get()
    # the dead web worker's lease runs out; then a recovery run takes the saga over and is killed in
    # its turn, right after it committed the stock reservation
    wait_for_the_lease_to_run_out()
    second_fault = processes.scratch / "recovery-faults"
    second_fault.mkdir()
    recovery, log = processes.spawn(
        "recovery",
        [sys.executable, "-c", RECOVERY_WITH_FAULTS],
        RESILIENCE_BLOCK_AT="saga:commit_reservation",
        RESILIENCE_FAULTS_DIR=str(second_fault),
    )
    assert processes.wait_for_fault(directory=second_fault, log=log) == recovery.pid
    os.kill(recovery.pid, signal.SIGKILL)
    recovery.wait(timeout=30)
    order.refresh_from_db()
    assert order.status == "pending" and available("TEE-M") == 8  # the stock is committed, the order not yet

    run_recovery_until_healed(processes)

    order.refresh_from_db()
    assert (order.status, CheckoutSaga.objects.get(pk=order.pk).state) == ("confirmed", "completed")
    charge = GatewayCharge.objects.get()
    assert charge.captured == order.total and charge.refunded == 0
    assert available("TEE-M") == 8 and voucher_uses() == 1
    status, _, answer = retry_until_answered(web, body, key)
    assert status == 201 and answer["id"] == str(order.pk) and answer["status"] == "confirmed"
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1
