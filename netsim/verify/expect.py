"""Checking a send step's expectations against its connections: one `Check` per expectation, with the evidence.

A check passes or fails with a one-line reason that names the connections
and pods that made it fail, so a CI log says what went wrong without a rerun.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from netsim.api.store import Store
from netsim.verify.observe import Observation
from netsim.verify.scenario import ClientIP, Expectation, Selector

MAX_NAMED = 3  # connections named in a failure reason before "and N more"


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation's verdict: what was expected, whether it held, and why."""

    expectation: str
    passed: bool
    reason: str

    def format(self) -> str:
        """`ok   deliveredTo app=web: 4/4 connections` or `FAIL ...`."""
        return f"{'ok  ' if self.passed else 'FAIL'} {self.expectation}: {self.reason}"


def check_all(expect: Expectation, observations: Sequence[Observation], store: Store) -> tuple[Check, ...]:
    """Every check the expectation asks for, in the document's order of fields."""
    checks: list[Check] = []
    if expect.delivered_to is not None:
        checks.append(_delivered_to(expect.delivered_to, observations))
    for selector in expect.never:
        checks.append(_never(selector, observations))
    if expect.outcome:
        checks.append(_outcome(expect, observations))
    if expect.client_ip is not None:
        checks.append(_client_ip(expect.client_ip, observations))
    if expect.split is not None:
        checks.append(_split(expect, observations, store))
    return tuple(checks)


def _named(bad: Sequence[Observation], what) -> str:
    """`#2 reached pod default/web-x (app=web), #5 ...` for the first few failing connections."""
    parts = [f"#{o.number} {what(o)}" for o in bad[:MAX_NAMED]]
    if len(bad) > MAX_NAMED:
        parts.append(f"and {len(bad) - MAX_NAMED} more")
    return ", ".join(parts)


def _reached(o: Observation) -> str:
    if o.pod is None:
        return f"ended {o.where}"
    return f"reached pod {o.pod.label} ({o.pod.label_text or 'no labels'})"


def _delivered_to(selector: Selector, observations: Sequence[Observation]) -> Check:
    bad = [o for o in observations if o.pod is None or not selector.matches(dict(o.pod.labels))]
    name = f"deliveredTo {selector.text}"
    if not bad:
        return Check(name, True, f"{len(observations)}/{len(observations)} connections")
    return Check(name, False, f"{len(bad)} of {len(observations)} connections did not: {_named(bad, _reached)}")


def _never(selector: Selector, observations: Sequence[Observation]) -> Check:
    bad = [o for o in observations if o.pod is not None and selector.matches(dict(o.pod.labels))]
    name = f"never {selector.text}"
    if not bad:
        return Check(name, True, f"none of {len(observations)} connections")
    return Check(name, False, f"{len(bad)} of {len(observations)} connections did: {_named(bad, _reached)}")


def _outcome(expect: Expectation, observations: Sequence[Observation]) -> Check:
    wanted = " or ".join(o.value for o in expect.outcome)
    bad = [o for o in observations if o.outcome not in expect.outcome]
    name = f"outcome {wanted}"
    if not bad:
        counts = Counter(o.outcome.value for o in observations)
        return Check(name, True, ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())))
    return Check(name, False, f"{len(bad)} of {len(observations)} connections ended otherwise: "
                              f"{_named(bad, lambda o: o.where)}")


def _client_ip(wanted: ClientIP, observations: Sequence[Observation]) -> Check:
    name = f"clientIP {wanted.value}"
    delivered = [o for o in observations if o.seen_source is not None]
    if not delivered:
        return Check(name, False, "no connection reached a backend, so no source address was seen")
    keep = wanted is ClientIP.KEPT
    bad = [o for o in delivered if o.client_ip_kept is not keep]
    undelivered = len(observations) - len(delivered)
    tail = f" ({undelivered} not delivered)" if undelivered else ""
    if not bad:
        seen = sorted({o.seen_source for o in delivered})
        return Check(name, True, f"the backend saw {', '.join(seen)} on {len(delivered)} connection(s){tail}")
    def seen(o: Observation) -> str:
        return f"sender {o.connection.sender.address}, backend saw {o.seen_source}"

    return Check(name, False, f"{len(bad)} of {len(delivered)} delivered connections were "
                              f"{'masqueraded' if keep else 'not masqueraded'}: {_named(bad, seen)}")


def _split(expect: Expectation, observations: Sequence[Observation], store: Store) -> Check:
    split = expect.split
    assert split is not None
    total = len(observations)
    rows: list[tuple[str, float, float]] = []  # (who, expected share, observed share)
    if split.even is not None:
        pods = sorted((p for p in store.list("Pod")
                       if p.phase == "Running" and p.ready and split.even.matches(p.labels)),  # type: ignore
                      key=lambda p: (p.namespace, p.name))
        name = f"split even over {split.even.text} ±{split.tolerance:g}"
        if not pods:
            return Check(name, False, f"no ready pod matches {split.even.text}")
        counts = Counter(o.pod.label for o in observations if o.pod is not None)
        for pod in pods:
            label = f"{pod.namespace}/{pod.name}"
            rows.append((label, 1 / len(pods), counts.get(label, 0) / total))
    else:
        name = "split " + ", ".join(f"{s.text}={share:g}" for s, share in split.weights) + f" ±{split.tolerance:g}"
        for selector, share in split.weights:
            hits = sum(1 for o in observations if o.pod is not None and selector.matches(dict(o.pod.labels)))
            rows.append((selector.text, share, hits / total))
    off = [(who, e, got) for who, e, got in rows if abs(got - e) > split.tolerance + 1e-12]
    shown = ", ".join(f"{who} {got:.3f} (want {e:.3f})" for who, e, got in (off or rows))
    if not off:
        return Check(name, True, f"over {total} connections: {shown}")
    return Check(name, False, f"over {total} connections, outside the tolerance: {shown}")
