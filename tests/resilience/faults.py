"""Fault points for the resilience tests: where a server or worker subprocess stops, so that the
test knows it is *exactly there* before it SIGKILLs it (no sleeps as synchronisation).

A subprocess started with ``RESILIENCE_BLOCK_AT=<kind>:<name>`` and ``RESILIENCE_FAULTS_DIR=<dir>``
blocks the first time (across every process sharing the directory) it reaches the point: it writes
``<dir>/reached`` with its pid, then waits; the test reads the pid and kills that process (or, to
change the world around it first, lets it go on by writing ``<dir>/release``).
Later processes with the same setting pass the point: the file exists, the fault was spent.

Kinds of points:

- ``saga:<step>``: right after the checkout saga's step ``<step>`` (``_saga.checkpoint``, the hook the
  saga calls after every step for exactly this purpose);
- ``handler:<subscription>``: inside a delivery to ``<subscription>``, right after its handler ran,
  in the subscriber's open transaction (the handler's writes and the inbox row not committed yet);
- ``committed:<subscription>``: right after the subscriber's transaction committed the handler's
  writes and the inbox row, before the outbox's delivery row was marked delivered.
"""

import os
import time
from pathlib import Path

BLOCK_AT = "RESILIENCE_BLOCK_AT"
FAULTS_DIR = "RESILIENCE_FAULTS_DIR"
REACHED = "reached"
RELEASE = "release"


def install() -> None:
    """Install the fault point named by the environment, if any (call after ``django.setup()``)."""
    point = os.environ.get(BLOCK_AT, "")
    if not point:
        return
    kind, _, name = point.partition(":")
    if kind == "saga":
        _block_after_saga_step(name)
    elif kind in ("handler", "committed"):
        _block_in_delivery(name, after_commit=kind == "committed")
    else:
        raise RuntimeError(f"Unknown fault point {point!r}")


def block_here() -> None:
    """Tell the test this process is at the point (once for all processes), then wait to be killed
    (or let go: the test writes ``<dir>/release``)."""
    directory = Path(os.environ[FAULTS_DIR])
    try:
        descriptor = os.open(directory / REACHED, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # spent by an earlier process: this one goes on
    os.write(descriptor, str(os.getpid()).encode())
    os.close(descriptor)
    while not (directory / RELEASE).exists():  # until SIGKILL, or let go
        time.sleep(0.05)


def _block_after_saga_step(step: str) -> None:
    from contexts.orders.services import _saga

    previous = _saga.checkpoint

    def checkpoint(order_id, name):
        previous(order_id, name)
        if name == step:
            block_here()

    _saga.checkpoint = checkpoint


def _block_in_delivery(subscription_name: str, *, after_commit: bool) -> None:
    import dataclasses

    from django.db import transaction

    from commerce.eventbus import delivery

    apply_one = delivery._apply_one

    def apply_then_block(subscriber_alias, subscription, message):
        if subscription.name != subscription_name:
            return apply_one(subscriber_alias, subscription, message)
        handler = subscription.handler

        def handle_then_block(event):
            handler(event)
            if after_commit:  # runs once the outermost transaction on the subscriber's database commits
                transaction.on_commit(block_here, using=subscriber_alias)
            else:  # the handler's writes and the inbox row are in the open transaction
                block_here()

        return apply_one(subscriber_alias, dataclasses.replace(subscription, handler=handle_then_block), message)

    delivery._apply_one = apply_then_block
