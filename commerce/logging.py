"""Log records carry the request and event ids of the work that wrote them."""

import json
import logging
from datetime import UTC, datetime

from commerce import correlation, telemetry


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation.request_id.get() or "-"
        record.correlation_id = correlation.correlation_id.get() or "-"
        record.causation_id = correlation.causation_id.get() or "-"
        ids = telemetry.current_ids() if telemetry.enabled() else None
        record.trace_id, record.span_id = ids or ("-", "-")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers (``LOG_FORMAT=json``)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "correlation_id": getattr(record, "correlation_id", "-"),
            "causation_id": getattr(record, "causation_id", "-"),
        }
        if getattr(record, "trace_id", "-") != "-":  # tracing is on and the line was written in a span
            payload["trace_id"] = record.trace_id
            payload["span_id"] = record.span_id
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
