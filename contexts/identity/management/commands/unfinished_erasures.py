"""List closed accounts whose erasure did not finish everywhere; ``--resume`` runs the missing steps."""

from django.core.management.base import BaseCommand, CommandParser

from contexts.identity import services


class Command(BaseCommand):
    help = "List accounts whose erasure did not finish (exit status 1 if any remain); --resume finishes them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--resume", action="store_true", help="run the missing steps first")

    def handle(self, *args: object, **options: object) -> None:
        if options["resume"]:
            finished = services.resume_erasures(limit=10_000)
            self.stdout.write(f"Finished {finished} erasure(s).")
        left = services.unfinished_erasures()
        for erasure in left:
            missing = [
                step
                for step, done in (
                    ("identity", erasure.identity_done_at),
                    ("orders", erasure.orders_done_at),
                    ("carts", erasure.carts_done_at),
                )
                if done is None
            ]
            error = erasure.last_error.splitlines()[0] if erasure.last_error else ""
            self.stdout.write(
                f"customer {erasure.customer_id}: closed {erasure.requested_at:%Y-%m-%d %H:%M}, "
                f"missing {', '.join(missing)}, {erasure.attempts} attempt(s){f' — {error}' if error else ''}"
            )
        if not left:
            self.stdout.write("Every erasure is complete.")
        else:
            raise SystemExit(1)
