"""The saga runner with fake steps and a fake journal: no database (cosmicpython's way)."""

import pytest

from contexts.orders.saga_runner import (
    COMPENSATED,
    COMPENSATING,
    COMPLETED,
    RUNNING,
    Outcome,
    Saga,
    Step,
    StepFailed,
    compensate,
    forward,
    heal,
)


class Crash(Exception):
    """Not a verdict: the process lost its database, say."""


class FakeJournal:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def call(self, name, fn, *, compensation):
        assert compensation is True or compensation is False
        try:
            fn()
        except Exception as exc:
            self.events.append(("undo" if compensation else "do", name, type(exc).__name__))
            raise
        self.events.append(("undo" if compensation else "do", name, "done"))

    def advanced(self, position):
        self.events.append(("at", position))

    def failing(self, error):
        self.events.append(("failing", error))

    def finished(self, state, error):
        self.events.append(("finished", state, error))

    def ran(self) -> list[str]:
        return [f"{kind} {name}" for kind, name, *_ in (e for e in self.events if e[0] in ("do", "undo"))]


class Shop:
    """The world the fake steps change: a list of what is in effect."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.effects: list[str] = []
        self.fail = fail or {}

    def doer(self, name):
        def action(shop):
            assert shop is self
            if name in self.fail:
                raise self.fail[name]
            self.effects.append(name)

        return action

    def undoer(self, name):
        def compensation(shop):
            assert shop is self
            if f"undo {name}" in self.fail:
                raise self.fail[f"undo {name}"]
            if name in self.effects:
                self.effects.remove(name)

        return compensation


NAMES = ("a", "b", "c", "d", "e")


def saga_for(shop: Shop, *, no_return: str = "c", resume_after: str = "b", without_undo=("e",)) -> Saga:
    return Saga(
        steps=tuple(
            Step(
                name=name,
                owner="test",
                action=shop.doer(name),
                compensation=None if name in without_undo else shop.undoer(name),
                compensation_name=f"un{name}",
            )
            for name in NAMES
        ),
        point_of_no_return=no_return,
        resume_after=resume_after,
    )


def test_every_step_runs_in_order_and_the_saga_completes():
    shop, journal = Shop(), FakeJournal()
    outcome = forward(saga_for(shop), shop, journal)
    assert outcome == Outcome(COMPLETED, 4)
    assert shop.effects == list(NAMES)
    assert journal.events == [
        ("do", "a", "done"),
        ("at", 0),
        ("do", "b", "done"),
        ("at", 1),
        ("do", "c", "done"),
        ("at", 2),
        ("do", "d", "done"),
        ("at", 3),
        ("do", "e", "done"),
        ("at", 4),
        ("finished", COMPLETED, None),
    ]


def test_a_failing_step_compensates_only_the_completed_steps_most_recent_first():
    shop, journal = Shop(fail={"c": StepFailed("declined")}), FakeJournal()
    outcome = forward(saga_for(shop), shop, journal)
    assert outcome == Outcome(COMPENSATED, 1, "declined")
    assert shop.effects == []
    assert journal.ran() == ["do a", "do b", "do c", "undo unb", "undo una"]
    # the failure is recorded before any compensation runs, and is the one the saga ends with
    assert journal.events[journal.events.index(("do", "c", "StepFailed")) + 1] == ("failing", "declined")
    assert journal.events[-1] == ("finished", COMPENSATED, "declined")
    assert ("at", 2) not in journal.events


def test_the_first_step_failing_compensates_nothing():
    shop, journal = Shop(fail={"a": StepFailed("no")}), FakeJournal()
    assert forward(saga_for(shop), shop, journal) == Outcome(COMPENSATED, -1, "no")
    assert journal.ran() == ["do a"]
    assert journal.events[-2:] == [("failing", "no"), ("finished", COMPENSATED, "no")]


def test_steps_without_a_compensation_are_passed_over():
    shop, journal = Shop(fail={"c": StepFailed("x")}), FakeJournal()
    forward(saga_for(shop, without_undo=("a",)), shop, journal)
    assert journal.ran() == ["do a", "do b", "do c", "undo unb"]
    assert shop.effects == ["a"]


def test_the_point_of_no_return_itself_failing_is_still_compensated():
    shop, journal = Shop(fail={"c": StepFailed("x")}), FakeJournal()
    assert forward(saga_for(shop, no_return="c"), shop, journal).state == COMPENSATED


def test_a_failure_after_the_point_of_no_return_compensates_nothing_and_leaves_the_saga_running():
    shop, journal = Shop(fail={"d": StepFailed("later")}), FakeJournal()
    outcome = forward(saga_for(shop), shop, journal)
    assert outcome == Outcome(RUNNING, 2, "later")
    assert shop.effects == ["a", "b", "c"]
    assert journal.ran() == ["do a", "do b", "do c", "do d"]
    assert not any(event[0] in ("failing", "finished") for event in journal.events)

    # a later run goes forward from where it stopped
    shop.fail.clear()
    journal = FakeJournal()
    assert forward(saga_for(shop), shop, journal, position=outcome.position) == Outcome(COMPLETED, 4)
    assert journal.ran() == ["do d", "do e"]
    assert shop.effects == list(NAMES)


def test_a_crash_in_a_step_propagates_without_compensating_or_recording_a_failure():
    shop, journal = Shop(fail={"b": Crash()}), FakeJournal()
    with pytest.raises(Crash):
        forward(saga_for(shop), shop, journal)
    assert journal.events == [("do", "a", "done"), ("at", 0), ("do", "b", "Crash")]


def test_a_crashing_compensation_stops_there_and_healing_finishes_with_the_first_failure():
    shop = Shop(fail={"c": StepFailed("declined"), "undo b": Crash()})
    journal = FakeJournal()
    with pytest.raises(Crash):
        forward(saga_for(shop), shop, journal)
    assert journal.ran() == ["do a", "do b", "do c", "undo unb"]
    assert ("failing", "declined") in journal.events
    assert not any(event[0] == "finished" for event in journal.events)

    shop.fail.pop("undo b")
    journal = FakeJournal()
    outcome = heal(saga_for(shop), shop, journal, state=COMPENSATING, position=1, error="declined")
    assert outcome == Outcome(COMPENSATED, 1, "declined")
    assert journal.ran() == ["undo unb", "undo una"]
    assert journal.events[-1] == ("finished", COMPENSATED, "declined")
    assert not any(event[0] == "failing" for event in journal.events)  # the first failure stays
    assert shop.effects == []


def test_healing_before_resume_after_compensates_what_was_done_with_the_given_failure():
    shop, journal = Shop(), FakeJournal()
    shop.effects = ["a"]
    outcome = heal(saga_for(shop), shop, journal, state=RUNNING, position=0, error="interrupted")
    assert outcome == Outcome(COMPENSATED, 0, "interrupted")
    # b was running when the saga was left behind: its work may be done, so it is undone too
    assert journal.ran() == ["undo unb", "undo una"]
    assert journal.events == [
        ("failing", "interrupted"),
        ("undo", "unb", "done"),
        ("undo", "una", "done"),
        ("finished", COMPENSATED, "interrupted"),
    ]
    assert shop.effects == []


def test_healing_undoes_the_step_that_was_running_never_one_past_the_point_of_no_return():
    shop, journal = Shop(), FakeJournal()
    saga = saga_for(shop, no_return="b", resume_after="b", without_undo=())
    heal(saga, shop, journal, state=RUNNING, position=0, error="x")
    assert journal.ran() == ["undo unb", "undo una"]
    journal = FakeJournal()
    compensate(saga, shop, journal, completed=1, error="x", in_flight=True)
    assert journal.ran() == ["undo unb", "undo una"]


def test_healing_a_saga_that_never_completed_a_step_compensates_nothing():
    shop, journal = Shop(), FakeJournal()
    saga = saga_for(shop, without_undo=("a",))
    assert heal(saga, shop, journal, state=RUNNING, position=-1, error="x") == Outcome(COMPENSATED, -1, "x")
    assert journal.ran() == []


@pytest.mark.parametrize("position", [1, 2, 3])
def test_healing_at_resume_after_or_later_runs_the_steps_after_the_last_completed_one(position):
    shop, journal = Shop(), FakeJournal()
    shop.effects = list(NAMES[: position + 1])
    outcome = heal(saga_for(shop), shop, journal, state=RUNNING, position=position, error="interrupted")
    assert outcome == Outcome(COMPLETED, 4)
    assert journal.ran() == [f"do {name}" for name in NAMES[position + 1 :]]
    assert shop.effects == list(NAMES)


def test_healing_forward_that_fails_before_the_point_of_no_return_ends_with_the_steps_own_failure():
    shop, journal = Shop(fail={"c": StepFailed("expired")}), FakeJournal()
    shop.effects = ["a", "b"]
    outcome = heal(saga_for(shop), shop, journal, state=RUNNING, position=1, error="interrupted")
    assert outcome == Outcome(COMPENSATED, 1, "expired")
    assert journal.ran() == ["do c", "undo unb", "undo una"]


@pytest.mark.parametrize("state", [COMPLETED, COMPENSATED])
def test_healing_a_finished_saga_does_nothing(state):
    shop, journal = Shop(), FakeJournal()
    assert heal(saga_for(shop), shop, journal, state=state, position=2, error="e") == Outcome(state, 2, "e")
    assert journal.events == []


def test_compensating_never_undoes_a_step_past_the_point_of_no_return():
    shop, journal = Shop(), FakeJournal()
    shop.effects = ["a", "b", "c", "d"]
    outcome = compensate(saga_for(shop, without_undo=()), shop, journal, completed=3, error="e")
    assert outcome == Outcome(COMPENSATED, 3, "e")
    assert journal.ran() == ["undo unc", "undo unb", "undo una"]
    assert shop.effects == ["d"]


def test_a_saga_declaration_is_checked():
    shop = Shop()
    with pytest.raises(ValueError, match=r"^step names must be unique$"):
        Saga(steps=(Step("a", "t", shop.doer("a")),) * 2, point_of_no_return="a", resume_after="a")
    unknown = r"^point_of_no_return and resume_after must name steps of the saga$"
    with pytest.raises(ValueError, match=unknown):
        saga_for(shop, no_return="z")
    with pytest.raises(ValueError, match=unknown):
        saga_for(shop, resume_after="z")
    with pytest.raises(ValueError, match=r"^a saga cannot be resumed only after its point of no return$"):
        saga_for(shop, no_return="b", resume_after="c")
    saga = saga_for(shop, no_return="b", resume_after="b")
    assert saga.index("d") == 3 and saga.no_return_index == 1


def undo_if_failed(saga: Saga, name: str) -> Saga:
    steps = tuple(
        Step(s.name, s.owner, s.action, s.compensation, s.compensation_name, undo_if_failed=s.name == name)
        for s in saga.steps
    )
    return Saga(steps=steps, point_of_no_return=saga.point_of_no_return, resume_after=saga.resume_after)


def test_a_failed_step_whose_effect_may_exist_is_compensated_too():
    shop, journal = Shop(fail={"b": StepFailed("lost answer")}), FakeJournal()
    outcome = forward(undo_if_failed(saga_for(shop), "b"), shop, journal)
    assert outcome == Outcome(COMPENSATED, 0, "lost answer")
    assert journal.ran() == ["do a", "do b", "undo unb", "undo una"]


def test_a_failed_step_past_the_point_of_no_return_is_never_compensated_even_if_marked():
    shop, journal = Shop(), FakeJournal()
    shop.effects = ["a", "b", "c"]
    saga = undo_if_failed(saga_for(shop, without_undo=()), "d")
    compensate(saga, shop, journal, completed=2, error="e")
    assert journal.ran() == ["undo unc", "undo unb", "undo una"]


def test_a_step_failure_carries_its_error_its_code_and_its_message():
    class Declined(Exception):
        code = "payment_declined"

    error = Declined("the card was declined")
    failure = StepFailed(error)
    assert failure.error is error and failure.code == "payment_declined"
    assert str(failure) == "the card was declined"
    assert StepFailed("plain").code is None
