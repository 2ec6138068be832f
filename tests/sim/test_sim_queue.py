"""The event queue: total order on (time, priority, sequence), the clock moved by events, cancel."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.sim.clock import DEFAULT_START, Clock
from netsim.sim.errors import EmptyQueue, TimeTravel
from netsim.sim.queue import NORMAL, URGENT, EventQueue

T0 = DEFAULT_START


def make() -> tuple[EventQueue, list[str]]:
    return EventQueue(Clock()), []


def test_events_run_in_time_order_and_move_the_clock() -> None:
    q, log = make()
    q.schedule(T0 + 2, lambda: log.append(f"b@{q.clock.now() - T0}"))
    q.schedule(T0 + 1, lambda: log.append(f"a@{q.clock.now() - T0}"))
    q.schedule(T0 + 3, lambda: log.append(f"c@{q.clock.now() - T0}"))
    assert len(q) == 3
    assert q.peek() == T0 + 1
    assert q.run() == 3
    assert log == ["a@1.0", "b@2.0", "c@3.0"]
    assert q.clock.now() == T0 + 3
    assert len(q) == 0 and not q


def test_ties_break_by_priority_then_sequence() -> None:
    q, log = make()
    q.schedule(T0 + 1, lambda: log.append("normal-1"))
    q.schedule(T0 + 1, lambda: log.append("urgent-1"), priority=URGENT)
    q.schedule(T0 + 1, lambda: log.append("normal-2"), priority=NORMAL)
    q.schedule(T0 + 1, lambda: log.append("urgent-2"), priority=URGENT)
    q.schedule(T0 + 0.5, lambda: log.append("earlier"), priority=5)
    q.run()
    assert log == ["earlier", "urgent-1", "urgent-2", "normal-1", "normal-2"]


def test_step_returns_the_handle_and_fails_when_empty() -> None:
    q, log = make()
    h = q.schedule_in(5, lambda: log.append("x"), name="x")
    assert q.peek_event() is h
    assert q.step() is h
    assert h.key() == (T0 + 5, NORMAL, 0)
    with pytest.raises(EmptyQueue):
        q.step()
    assert q.peek() == math.inf and q.peek_event() is None


def test_run_until_is_inclusive_and_sets_the_clock() -> None:
    q, log = make()
    for t in (1, 2, 3):
        q.schedule(T0 + t, lambda t=t: log.append(t))
    assert q.run_until(T0 + 2) == 2
    assert log == [1, 2]
    assert q.clock.now() == T0 + 2
    assert q.run_until(T0 + 2.5) == 0
    assert q.clock.now() == T0 + 2.5
    assert len(q) == 1


def test_events_scheduled_while_running_run_in_order() -> None:
    q, log = make()

    def first() -> None:
        log.append("first")
        q.schedule_in(0, lambda: log.append("same-instant"))
        q.schedule_in(1, lambda: log.append("later"))
        q.schedule_in(10, lambda: log.append("too-late"))

    q.schedule(T0 + 1, first)
    q.schedule(T0 + 1, lambda: log.append("second"))
    q.run_until(T0 + 2)
    assert log == ["first", "second", "same-instant", "later"]
    assert len(q) == 1


def test_cancel() -> None:
    q, log = make()
    a = q.schedule(T0 + 1, lambda: log.append("a"))
    q.schedule(T0 + 2, lambda: log.append("b"))
    a.cancel()
    a.cancel()
    assert a.cancelled and len(q) == 1
    assert q.peek() == T0 + 2
    q.run()
    assert log == ["b"]


def test_scheduling_in_the_past_is_a_bug() -> None:
    q, _ = make()
    q.clock.advance(10)
    with pytest.raises(TimeTravel):
        q.schedule(T0 + 5, lambda: None)
    with pytest.raises(TimeTravel):
        q.schedule_in(-1, lambda: None)
    with pytest.raises(TimeTravel):
        q.run_until(T0)
    with pytest.raises(TypeError):
        q.schedule(T0 + 20, "not callable")  # type: ignore[arg-type]


def test_run_max_events() -> None:
    q, log = make()
    for t in range(5):
        q.schedule(T0 + t, lambda t=t: log.append(t))
    assert q.run(max_events=2) == 2
    assert log == [0, 1]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2)), max_size=40))
def test_order_is_time_then_priority_then_insertion(entries: list[tuple[int, int]]) -> None:
    q, _ = make()
    ran: list[int] = []
    for i, (t, p) in enumerate(entries):
        q.schedule(T0 + t, lambda i=i: ran.append(i), priority=p)
    q.run()
    expected = sorted(range(len(entries)), key=lambda i: (entries[i][0], entries[i][1], i))
    assert ran == expected
