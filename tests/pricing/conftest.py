import pytest

from commerce.database import database_for


@pytest.fixture
def published():
    """The pricing events written to the outbox, as (type, payload) pairs, oldest first."""
    from commerce.eventbus.models import OutboxMessage

    def read(event_type: str | None = None) -> list[dict]:
        rows = OutboxMessage.objects.using(database_for("pricing")).order_by("id")
        if event_type:
            rows = rows.filter(event_type=event_type)
        return [row.payload for row in rows]

    return read
