"""The shop's WSGI application with the fault point of ``RESILIENCE_BLOCK_AT`` installed (tests only)."""

from commerce.wsgi import application
from tests.resilience import faults

faults.install()

__all__ = ["application"]
