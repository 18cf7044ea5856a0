"""A customer's messages in the personal-data export, and their erasure when the account closes.

Identity decides that an account is closed; it tells this context with ``identity.AccountClosed``
(carrying the address the messages went to), and the handler erases here, in the handler's own
transaction. An event rather than a call: it reaches this context wherever it runs (in the monolith
or as its own service), it is retried by the bus until it succeeds, and identity does not depend on
notifications (notifications subscribes to identity's events, so it sits above identity).
"""

from django.db.models import Q
from django.utils import timezone

from contexts.notifications.models import Message, OrderContact

ERASED_DOMAIN = "erased.invalid"


def erase_customer(*, customer_id: int, email: str) -> int:
    """Idempotent: the customer's messages lose their address and content, unsent ones are given up,
    and the orders remembered for them lose their email. Guest orders placed with the same email
    before the account existed are theirs too. Returns how many messages were erased now."""
    now = timezone.now()
    mine = Q(customer_id=customer_id)
    contacts = Q(customer_id=customer_id)
    if email and not email.endswith(f"@{ERASED_DOMAIN}"):
        mine |= Q(recipient=email)
        contacts |= Q(email=email)
    Message.objects.filter(mine).filter(status__in=[Message.Status.PENDING, Message.Status.FAILED]).update(
        status=Message.Status.GAVE_UP, last_error="The account was closed before it was sent."
    )
    erased = (
        Message.objects.filter(mine)
        .filter(erased_at__isnull=True)
        .update(recipient="", body_text="", body_html="", erased_at=now)
    )
    OrderContact.objects.filter(contacts).update(email="")
    return erased
