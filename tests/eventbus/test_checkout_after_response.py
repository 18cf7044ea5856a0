"""A checkout's customer waits for the checkout only: the confirmation mail (a real SMTP server) and the
catalogue's listing refresh happen after the ``201`` has been sent, in the embedded default."""

import re
from collections import Counter

import pytest
from rest_framework.test import APIClient

from commerce.eventbus import after_response
from tests.eventbus.response import statements_around_the_response
from tests.notifications.mailbox import mailbox, smtp_server  # noqa: F401 (fixtures)
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout

pytestmark = pytest.mark.django_db(transaction=True)  # events are delivered after commit

WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', re.IGNORECASE)


def tables_written(statements: list[str]) -> Counter:
    return Counter(match.group(2) for sql in statements if (match := WRITE.match(sql)))


@pytest.fixture
def inline(settings):
    settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}


def test_the_confirmation_mail_is_sent_after_the_checkouts_response(inline, mailbox):  # noqa: F811
    build_shop()
    cart = new_cart({"TEE-M": 1, "MUG": 2})
    mails_when_answered = []
    with (
        after_response.observe(lambda: mails_when_answered.append(len(mailbox.received))),
        statements_around_the_response() as split,
    ):
        placed = post_checkout(APIClient(), checkout_body(cart, email="buyer@example.com"))

    assert placed.status_code == 201, placed.json()
    assert mails_when_answered == [0], "no mail was sent before the customer had the answer"
    assert mailbox.to() == [["buyer@example.com"]], "and it was sent before the test client returned"
    written_in_request = tables_written([sql for s in split.in_request.values() for sql in s])
    written_after = tables_written([sql for s in split.after_response.values() for sql in s])
    assert not [table for table in written_in_request if table.startswith(("notifications_", "catalogue_"))]
    assert "eventbus_inboxentry" not in written_in_request
    assert any(table.startswith("notifications_") for table in written_after)
    print(  # the figures for the note: bin/pytest -s shows them
        f"checkout: {split.count_in_request()} statements before the response, "
        f"{split.count_after_response()} after it; written after: {dict(written_after)}"
    )
