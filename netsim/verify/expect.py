"""Checking a step's expectations against what it saw: one `Check` per expectation, with the evidence.

A send step's checks run over its connections; a resolve or dig step's over
its `DnsOutcome` (the answers, the status, the queries sent, the name that
answered). A check passes or fails with a one-line reason that names the
connections, pods or queries that made it fail, so a CI log says what went
wrong without a rerun.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from netsim.api.store import Store
from netsim.verify.observe import Observation
from netsim.dns.message import Rcode
from netsim.verify.scenario import ClientIP, DnsExpectation, Expectation, Selector

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


@dataclass(frozen=True, slots=True)
class DnsOutcome:
    """What a resolve or dig step got, in the terms of its expectations (`DnsExpectation`)."""

    answers: tuple[str, ...]        # addresses (resolve) or answer records' data (dig), canonical (answer_text)
    rcode: Rcode | None             # the deciding reply's status; None when no reply came
    asked: tuple[str, ...]          # one `TYPE name` per query sent, in order
    resolved_as: str | None         # the name that answered (resolve), else None
    failure: str = ""               # why nothing answered: glibc's h_errno, or dig's "no servers could be reached"
    decided_by: str = ""            # the question of the reply `rcode` comes from (`AAAA example.com.`)

    @property
    def queries(self) -> int:
        """How many queries were sent."""
        return len(self.asked)


def check_dns(expect: DnsExpectation, got: DnsOutcome) -> tuple[Check, ...]:
    """Every check a resolve or dig step's expectation asks for, in the order of DNS_EXPECT_FIELDS."""
    checks: list[Check] = []
    if expect.answers is not None:
        checks.append(_answers(expect.answers, got))
    if expect.rcode is not None:
        checks.append(_rcode(expect.rcode, got))
    if expect.queries is not None:
        checks.append(_queries(expect.queries, got))
    if expect.resolved_as is not None:
        checks.append(_resolved_as(expect.resolved_as, got))
    return tuple(checks)


def _status(got: DnsOutcome) -> str:
    """`NXDOMAIN`, or `no reply (TRY_AGAIN)`: what came back, for failure reasons."""
    if got.rcode is None:
        return f"no reply ({got.failure})" if got.failure else "no reply"
    details = [d for d in (got.decided_by, got.failure) if d]
    return got.rcode.name + (f" ({', '.join(details)})" if details else "")


def _answers(wanted: tuple[str, ...], got: DnsOutcome) -> Check:
    name = "answers " + (", ".join(wanted) if wanted else "none")
    want, have = set(wanted), set(got.answers)
    if want == have:
        return Check(name, True, f"got {', '.join(sorted(have))}" if have else f"got none: {_status(got)}")
    parts = [f"got {', '.join(sorted(have))}" if have else f"got none: {_status(got)}"]
    if want - have:
        parts.append(f"missing {', '.join(sorted(want - have))}")
    if have - want:
        parts.append(f"unexpected {', '.join(sorted(have - want))}")
    return Check(name, False, "; ".join(parts))


def _rcode(wanted: Rcode, got: DnsOutcome) -> Check:
    name = f"rcode {wanted.name}"
    if got.rcode is wanted:
        return Check(name, True, _status(got))
    return Check(name, False, f"got {_status(got)}")


def _asked(got: DnsOutcome) -> str:
    """`A web.default.svc.cluster.local., AAAA web.default.svc.cluster.local.` (the first few, then a count)."""
    parts = list(got.asked[:MAX_NAMED * 2])
    if len(got.asked) > len(parts):
        parts.append(f"and {len(got.asked) - len(parts)} more")
    return ", ".join(parts)


def _queries(wanted: int, got: DnsOutcome) -> Check:
    name = f"queries {wanted}"
    if got.queries == wanted:
        return Check(name, True, f"{got.queries} sent: {_asked(got)}")
    return Check(name, False, f"{got.queries} sent: {_asked(got)}")


def _resolved_as(wanted: str, got: DnsOutcome) -> Check:
    name = f"resolvedAs {wanted}"
    if got.resolved_as is None:
        return Check(name, False, f"no name answered ({_status(got)})")
    if got.resolved_as.lower() == wanted:
        return Check(name, True, f"{got.resolved_as} answered")
    return Check(name, False, f"{got.resolved_as} answered")
