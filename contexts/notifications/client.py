"""The notifications service as the monolith calls it over HTTP, once it runs lifted out (DESIGN.md "Calls
through a client").

One call today: a customer's messages for identity's export (``GET /api/v1/me/notifications/export``), made
with an access token identity issued for that customer, which the service verifies with identity's public
keys as it verifies every customer's. The rules of a call through a client:

- a **deadline** on the whole call, retries included (``NOTIFICATIONS_SERVICE_TIMEOUT_SECONDS``): a service
  that does not answer never holds the caller's request longer;
- **retries only because the call is idempotent** (a read): a connection refused or dropped, a timeout, or
  the service (or a proxy before it) answering 502, 503 or 504 is tried again, with a short backoff, while
  the deadline allows;
- what is left raises ``NotificationsUnavailable``, the context's own exception (503 with ``Retry-After`` in
  the contract's shape): the caller answers that, never a partial document. The read has no business error
  of its own; an answer the service should never give (a refused token: the service cannot read identity's
  keys, or has others) is logged and is unavailability too, since it is not the customer's to fix.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from contexts.notifications.conf import service_timeout_seconds, service_url
from contexts.notifications.exceptions import NotificationsUnavailable

logger = logging.getLogger(__name__)

EXPORT_PATH = "/api/v1/me/notifications/export"
RETRIED_STATUSES = frozenset({502, 503, 504})
BACKOFF_SECONDS = (0.1, 0.3, 0.9)


def _get(url: str, *, access_token: str, timeout: float) -> Any:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def customer_messages(*, access_token: str) -> list[dict[str, Any]]:
    """The messages of the customer ``access_token`` names, oldest first, as the service's export answers them.

    :raises NotificationsUnavailable: no complete answer within the deadline.
    """
    url = f"{service_url()}{EXPORT_PATH}"
    deadline = time.monotonic() + service_timeout_seconds()
    attempt = 0
    while True:
        remaining = deadline - time.monotonic()
        try:
            body = _get(url, access_token=access_token, timeout=max(remaining, 0.05))
            return list(body["results"])
        except urllib.error.HTTPError as error:
            if error.code not in RETRIED_STATUSES:
                logger.error("The notifications service answered %s to %s: not retried", error.code, url)
                raise NotificationsUnavailable() from error
            reason: object = error.code
        except (OSError, ValueError, KeyError, TypeError) as error:  # refused, reset, timed out, not its JSON
            reason = error
        pause = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
        attempt += 1
        if time.monotonic() + pause >= deadline:
            logger.warning("The notifications service at %s did not answer (%d attempts): %s", url, attempt, reason)
            raise NotificationsUnavailable()
        time.sleep(pause)
