"""Django's SQLite backend, measured (``commerce.backends._measured``), as django-prometheus' is."""

from django.db.backends.sqlite3 import base
from django_prometheus.db.backends.sqlite3.base import DatabaseWrapper as PrometheusDatabaseWrapper

from commerce.backends._measured import measured_cursor


class DatabaseWrapper(PrometheusDatabaseWrapper):
    _measured_cursor: type | None = None

    def create_cursor(self, name=None):  # type: ignore[no-untyped-def]
        if self._measured_cursor is None:  # made once per connection object, not once per cursor
            self._measured_cursor = measured_cursor(base.SQLiteCursorWrapper, self.alias, self.vendor)
        return self.connection.cursor(factory=self._measured_cursor)
