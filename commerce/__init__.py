"""The deployable and its platform kernel. It imports no business context.

The Celery application (``commerce.celery``) is not imported here: a web worker that delivers events
inline never needs Celery, and importing it costs every such process several MB. ``celery -A commerce``
finds it all the same (Celery looks for ``commerce.celery`` when the package has no ``app``), the
kernel's app config imports it at start-up when ``EVENTBUS_DISPATCH=celery``, and ``celery_app`` is
still here for whoever asks (PEP 562: imported on first access).
"""

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from commerce.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
