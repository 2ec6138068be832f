"""A Simulation ties the clock, the queue and the random streams together; runs are reproducible."""

from __future__ import annotations

from netsim.sim import DEFAULT_START, Simulation


def run(seed: int) -> list[tuple[str, str]]:
    sim = Simulation(seed=seed)
    log: list[tuple[str, str]] = []
    rng = sim.random("controllers/replicaset")

    def create() -> None:
        log.append((sim.timestamp(), rng.generate_name("web-")))
        if len(log) < 3:
            sim.schedule_in(rng.uniform(0.5, 2.0), create)

    sim.schedule(DEFAULT_START + 1, create)
    sim.advance(10)
    return log


def test_same_seed_same_run() -> None:
    assert run(1) == run(1)
    assert run(1) != run(2)
    assert len(run(1)) == 3


def test_advance_runs_events_and_moves_time() -> None:
    sim = Simulation()
    seen: list[float] = []
    sim.schedule_in(5, lambda: seen.append(sim.now()))
    assert sim.advance(4) == 0 and sim.now() == DEFAULT_START + 4
    assert sim.advance(1) == 1 and seen == [DEFAULT_START + 5]
    assert sim.run_until(DEFAULT_START + 7) == 0
    assert sim.timestamp() == "2024-01-01T00:00:07Z"
