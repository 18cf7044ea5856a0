"""A relay or consumer process for the relay's tests: ``python -m tests.eventbus.relay.run COMMAND ARGS``.

Knows the test-only events (``events.py``). With ``RELAY_BLOCK_AFTER_ACK=1`` and
``RESILIENCE_FAULTS_DIR=<dir>``, the relay stops right after the broker acked a batch and before it
marks it delivered (its transaction still open), tells the test so (``tests.resilience.faults``),
and waits to be killed.
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from commerce.eventbus.remote import relay  # noqa: E402
from tests.eventbus.relay import events  # noqa: E402, F401
from tests.resilience import faults  # noqa: E402

if os.environ.get("RELAY_BLOCK_AFTER_ACK"):
    mark = relay.after_ack

    def block_then_mark(alias, delivered):
        if delivered:
            faults.block_here()
        mark(alias, delivered)

    relay.after_ack = block_then_mark

call_command(*sys.argv[1:])
