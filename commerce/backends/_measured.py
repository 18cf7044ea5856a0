"""django-prometheus' cursor wrapper (``django_prometheus.db.common.ExportingCursorWrapper``), its series
looked up once.

Its wrapper asks ``labels(alias, vendor)`` twice for every statement and builds two context managers
around it; this one counts the same series, the same way (the statement counted before it runs, its
duration observed whether it succeeds or raises, an error counted by its type), with the children
looked up when the cursor class is made: once per connection.
"""

from time import perf_counter

from django_prometheus.db import errors_total, execute_many_total, execute_total, query_duration_seconds


def measured_cursor(cursor_class: type, alias: str, vendor: str) -> type:
    executed = execute_total.labels(alias, vendor)
    executed_many = execute_many_total.labels(alias, vendor)
    duration = query_duration_seconds.labels(alias, vendor)

    class MeasuredCursor(cursor_class):  # type: ignore[misc,valid-type]
        def execute(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            executed.inc()
            started = perf_counter()
            try:
                return super().execute(*args, **kwargs)
            except BaseException as error:
                errors_total.labels(alias, vendor, type(error).__name__).inc()
                raise
            finally:
                duration.observe(perf_counter() - started)

        def executemany(self, query, param_list, *args, **kwargs):  # type: ignore[no-untyped-def]
            executed.inc(len(param_list))
            executed_many.inc(len(param_list))
            started = perf_counter()
            try:
                return super().executemany(query, param_list, *args, **kwargs)
            except BaseException as error:
                errors_total.labels(alias, vendor, type(error).__name__).inc()
                raise
            finally:
                duration.observe(perf_counter() - started)

    return MeasuredCursor
