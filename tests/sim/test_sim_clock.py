"""The simulated clock: default start, forward-only moves, RFC 3339 timestamps as Kubernetes writes them."""

from __future__ import annotations

import pytest

from netsim.sim.clock import DEFAULT_START, Clock, parse_rfc3339, rfc3339, rfc3339_micro
from netsim.sim.errors import SimError, TimeTravel


def test_default_start_is_2024_01_01_utc() -> None:
    clock = Clock()
    assert clock.now() == DEFAULT_START == 1704067200.0
    assert clock.rfc3339() == "2024-01-01T00:00:00Z"
    assert clock.elapsed() == 0


def test_advance_moves_forward_only() -> None:
    clock = Clock()
    assert clock.advance(1.5) == DEFAULT_START + 1.5
    assert clock.advance(0) == DEFAULT_START + 1.5
    assert clock.advance_to(DEFAULT_START + 10) == DEFAULT_START + 10
    assert clock.elapsed() == 10
    with pytest.raises(TimeTravel):
        clock.advance(-1)
    with pytest.raises(TimeTravel):
        clock.advance_to(DEFAULT_START)
    with pytest.raises(SimError):
        clock.advance(float("nan"))


def test_custom_start() -> None:
    clock = Clock(start=0.0)
    assert clock.rfc3339() == "1970-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        Clock(start=float("inf"))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (DEFAULT_START, "2024-01-01T00:00:00Z"),
        (DEFAULT_START + 0.999, "2024-01-01T00:00:00Z"),  # metav1.Time drops the fraction
        (DEFAULT_START + 61, "2024-01-01T00:01:01Z"),
        (DEFAULT_START + 86400 * 60, "2024-03-01T00:00:00Z"),  # 2024 is a leap year
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_rfc3339(seconds: float, text: str) -> None:
    assert rfc3339(seconds) == text
    assert parse_rfc3339(text) == float(int(seconds))


def test_rfc3339_micro() -> None:
    assert rfc3339_micro(DEFAULT_START) == "2024-01-01T00:00:00.000000Z"
    assert rfc3339_micro(DEFAULT_START + 1.25) == "2024-01-01T00:00:01.250000Z"
    assert rfc3339_micro(DEFAULT_START + 0.0000015) == "2024-01-01T00:00:00.000001Z"
    assert parse_rfc3339("2024-01-01T00:00:01.250000Z") == DEFAULT_START + 1.25


def test_parse_rfc3339_needs_utc() -> None:
    with pytest.raises(ValueError):
        parse_rfc3339("2024-01-01T00:00:00+01:00")
