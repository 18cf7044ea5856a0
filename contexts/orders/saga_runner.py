"""A small saga runner: a saga is a table of steps, each with its action and its compensation.

Plain Python, no database: the checkout (``services/_saga.py``) declares its table and gives the
runner a *journal* that persists what happens (the log, the position, the failure, the lease). Kept
apart so the rules below are tested with fake steps and no database (tests/orders/test_saga_runner.py).

The rules:

- Forward: the steps run in order after the last completed one (``position``, -1 before the first).
  The journal records each completed step's position before the next one starts.
- A step fails (it raises ``StepFailed``) at or before the *point of no return*: the failure is
  recorded first, then the compensations of the completed steps run, the most recent first; the
  failed step's own compensation does not run (it did not complete), unless the step says its
  effect may exist though it failed (``undo_if_failed``: a payment whose answer was lost). The saga
  ends ``compensated`` with that failure.
- A step fails after the point of no return: nothing is compensated (what came before is a fact
  now); the saga stays ``running`` at its position, for a later run to go forward from there.
- Anything else a step or compensation raises (a crash, a lost connection) is not a verdict: it
  propagates, and the saga stays where the journal last recorded it.
- Healing a saga left behind: a saga that was ``compensating`` finishes its compensations with the
  failure it recorded (never a new one); otherwise, when its last completed step is ``resume_after``
  or later, it goes forward from there (the step that was running when it was left behind runs
  again: steps are idempotent); before that it is compensated with the failure it is given, the
  step that was running included (its work may have been done before its position was recorded).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

C = TypeVar("C")

RUNNING, COMPENSATING, COMPLETED, COMPENSATED = "running", "compensating", "completed", "compensated"


class StepFailed(Exception):
    """A step's verdict that it cannot be done (a declined card, no stock): the saga is compensated.

    ``error`` is whatever the saga's owner wants recorded and answered (an error object).
    """

    def __init__(self, error: Any) -> None:
        self.error = error
        self.code = getattr(error, "code", None)  # what the step's duration is recorded under
        super().__init__(str(error))


@dataclass(frozen=True, slots=True)
class Step(Generic[C]):
    """One row of the table: what the step does and, side by side, what undoes it."""

    name: str
    owner: str
    action: Callable[[C], None]
    compensation: Callable[[C], None] | None = None
    compensation_name: str = ""
    undo_if_failed: bool = False  # its effect may exist though it failed: compensate it then too
    does: str = ""  # for the generated documentation table
    undoes: str = ""


@dataclass(frozen=True, slots=True)
class Saga(Generic[C]):
    steps: tuple[Step[C], ...]
    point_of_no_return: str  # after this step has completed, the saga only goes forward
    resume_after: str  # a saga left behind at this step or later is finished, not compensated

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("step names must be unique")
        if self.point_of_no_return not in names or self.resume_after not in names:
            raise ValueError("point_of_no_return and resume_after must name steps of the saga")
        if self.index(self.resume_after) > self.index(self.point_of_no_return):
            raise ValueError("a saga cannot be resumed only after its point of no return")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def index(self, name: str) -> int:
        return self.names.index(name)

    @property
    def no_return_index(self) -> int:
        return self.index(self.point_of_no_return)


class Journal(Protocol):
    """What the runner asks its owner to do around the steps (persist, time, log, renew a lease)."""

    def call(self, name: str, fn: Callable[[], None], *, compensation: bool) -> None:
        """Run ``fn`` (one step or compensation), logging it; exceptions propagate."""

    def advanced(self, position: int) -> None:
        """The step at ``position`` completed."""

    def failing(self, error: Any) -> None:
        """A step failed before the point of no return: record ``error``; compensations follow."""

    def finished(self, state: str, error: Any) -> None:
        """The saga ended: ``completed`` (error None) or ``compensated`` with its failure."""


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str  # completed, compensated, or running (stopped after the point of no return)
    position: int
    error: Any = None


def forward(saga: Saga[C], context: C, journal: Journal, *, position: int = -1) -> Outcome:
    """Run the steps after ``position``; see the module's rules."""
    for index in range(position + 1, len(saga.steps)):
        step = saga.steps[index]
        try:
            journal.call(step.name, lambda step=step: step.action(context), compensation=False)
        except StepFailed as failure:
            if index > saga.no_return_index:
                return Outcome(RUNNING, index - 1, failure.error)
            journal.failing(failure.error)
            return compensate(saga, context, journal, completed=index - 1, error=failure.error)
        journal.advanced(index)
    journal.finished(COMPLETED, None)
    return Outcome(COMPLETED, len(saga.steps) - 1)


def compensate(
    saga: Saga[C], context: C, journal: Journal, *, completed: int, error: Any, in_flight: bool = False
) -> Outcome:
    """Undo the steps up to ``completed`` (never past the point of no return), the most recent first.

    The step after ``completed`` is undone too when its effect may exist: it was running when the
    saga was left behind (``in_flight``: a crash after its work, before its position was recorded),
    or it failed and is ``undo_if_failed``.
    """
    last = min(completed, saga.no_return_index)
    after = completed + 1
    if after <= saga.no_return_index and (in_flight or saga.steps[after].undo_if_failed):
        last = after
    for index in range(last, -1, -1):
        step = saga.steps[index]
        if step.compensation is not None:
            journal.call(step.compensation_name, lambda step=step: step.compensation(context), compensation=True)
    journal.finished(COMPENSATED, error)
    return Outcome(COMPENSATED, completed, error)


def heal(saga: Saga[C], context: C, journal: Journal, *, state: str, position: int, error: Any) -> Outcome:
    """Finish a saga left behind at ``position`` in ``state``.

    ``error`` is the failure recorded when it was ``compensating`` (kept as it is), otherwise the one
    to end with should it be compensated now.
    """
    if state in (COMPLETED, COMPENSATED):
        return Outcome(state, position, error)
    if state == COMPENSATING:
        return compensate(saga, context, journal, completed=position, error=error)
    if position >= saga.index(saga.resume_after):
        return forward(saga, context, journal, position=position)
    journal.failing(error)
    return compensate(saga, context, journal, completed=position, error=error, in_flight=True)
