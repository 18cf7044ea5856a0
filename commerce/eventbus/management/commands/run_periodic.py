"""The embedded scheduler: runs the shop's periodic jobs in this process, for a shop with no broker.

With a broker, Celery beat runs the same jobs (``commerce.periodic`` is the one list of them).
"""

import logging
import time

from django.core.management.base import BaseCommand

from commerce.periodic import jobs

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run every periodic job (outbox sweep, reservation expiry, pruning) on its schedule, in process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args: object, once: bool = False, **options: object) -> None:
        next_run = {job.name: 0.0 for job in jobs()}
        self.stdout.write(f"Periodic jobs: {', '.join(sorted(next_run)) or 'none'}")
        while True:
            now = time.monotonic()
            for job in jobs():
                if once or now >= next_run[job.name]:
                    try:
                        job.task()
                    except Exception:
                        logger.exception("Periodic job %s failed", job.name)
                    next_run[job.name] = now + job.every_seconds
            if once:
                return
            time.sleep(1)
