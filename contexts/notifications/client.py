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
- a **circuit breaker** on transport failures only: after ``BREAKER_FAILURES`` calls in a row that ended
  without an answer, calls fail at once for ``BREAKER_OPEN_SECONDS`` (a service that is down is not
  waited for by every export), then one call tries again and its outcome closes or reopens it; an answer
  the service gives (even a refusal) is not a transport failure;
- what is left raises ``NotificationsUnavailable``, the context's own exception (503 with ``Retry-After`` in
  the contract's shape): the caller answers that, never a partial document. The read has no business error
  of its own; an answer the service should never give (a refused token: the service cannot read identity's
  keys, or has others) is logged and is unavailability too, since it is not the customer's to fix.
"""

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.signals import setting_changed

from contexts.notifications.conf import service_timeout_seconds, service_url
from contexts.notifications.exceptions import NotificationsUnavailable

logger = logging.getLogger(__name__)

EXPORT_PATH = "/api/v1/me/notifications/export"
RETRIED_STATUSES = frozenset({502, 503, 504})
BACKOFF_SECONDS = (0.1, 0.3, 0.9)
BREAKER_FAILURES = 5
BREAKER_OPEN_SECONDS = 30.0


class CircuitBreaker:
    """Consecutive calls that got no answer; past the threshold, no call is tried until ``open_seconds`` pass.
    One per process (threads share it)."""

    def __init__(self, *, failures: int = BREAKER_FAILURES, open_seconds: float = BREAKER_OPEN_SECONDS) -> None:
        self.failures = failures
        self.open_seconds = open_seconds
        self._lock = threading.Lock()
        self._consecutive = 0
        self._open_until = 0.0

    def allows(self) -> bool:
        """Whether a call may be tried now (closed, or open long enough for one trial call)."""
        with self._lock:
            if self._consecutive < self.failures:
                return True
            if time.monotonic() >= self._open_until:
                self._open_until = time.monotonic() + self.open_seconds  # this call is the trial; others wait
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self._consecutive = 0

    def failed(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._consecutive == self.failures:
                self._open_until = time.monotonic() + self.open_seconds
                logger.error(
                    "The notifications service is not answering: calls fail at once for %ss", self.open_seconds
                )


breaker = CircuitBreaker()


def _reset_breaker(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("NOTIFICATIONS_SERVICE_"):  # another service (a test's): its own record
        breaker.succeeded()


setting_changed.connect(_reset_breaker)


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
    if not breaker.allows():
        raise NotificationsUnavailable()
    deadline = time.monotonic() + service_timeout_seconds()
    attempt = 0
    while True:
        remaining = deadline - time.monotonic()
        try:
            body = _get(url, access_token=access_token, timeout=max(remaining, 0.05))
            results = list(body["results"])
            breaker.succeeded()
            return results
        except urllib.error.HTTPError as error:
            if error.code not in RETRIED_STATUSES:
                breaker.succeeded()  # the service answered: not a transport failure
                logger.error("The notifications service answered %s to %s: not retried", error.code, url)
                raise NotificationsUnavailable() from error
            reason: object = error.code
        except (OSError, ValueError, KeyError, TypeError) as error:  # refused, reset, timed out, not its JSON
            reason = error
        pause = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
        attempt += 1
        if time.monotonic() + pause >= deadline:
            logger.warning("The notifications service at %s did not answer (%d attempts): %s", url, attempt, reason)
            breaker.failed()
            raise NotificationsUnavailable()
        time.sleep(pause)
