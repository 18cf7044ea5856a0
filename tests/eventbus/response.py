"""Counting what the customer waits for: every database's statements during a block, split where the
response was sent (``commerce.eventbus.after_response.observe``).

    with statements_around_the_response() as split:
        client.post("/api/v1/checkout", ...)
    split.in_request      # {alias: [sql, ...]} run before the response was sent
    split.after_response  # {alias: [sql, ...]} run after it (deferred deliveries), before post() returned
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.db import connections
from django.test.utils import CaptureQueriesContext

from commerce.database import context_aliases
from commerce.eventbus import after_response


@dataclass
class Split:
    in_request: dict[str, list[str]] = field(default_factory=dict)
    after_response: dict[str, list[str]] = field(default_factory=dict)
    responses: int = 0  # how many responses were sent in the block

    def count_in_request(self) -> int:
        return sum(len(statements) for statements in self.in_request.values())

    def count_after_response(self) -> int:
        return sum(len(statements) for statements in self.after_response.values())


@contextmanager
def statements_around_the_response(*aliases: str) -> Iterator[Split]:
    """Capture the statements of ``aliases`` (every context's database by default) in this thread
    during the block, split at the first response sent in it; without a response, all are in it."""
    aliases = aliases or tuple(sorted(set(context_aliases())))
    split = Split()
    marks: dict[str, int] = {}
    with ExitStack() as stack:
        captured = {alias: stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in aliases}

        def mark() -> None:
            split.responses += 1
            if not marks:
                marks.update({alias: len(capture.captured_queries) for alias, capture in captured.items()})

        stack.enter_context(after_response.observe(mark))
        yield split
        stack.close()
        for alias, capture in captured.items():
            statements = [query["sql"] for query in capture.captured_queries]
            at = marks.get(alias, len(statements))
            split.in_request[alias], split.after_response[alias] = statements[:at], statements[at:]
