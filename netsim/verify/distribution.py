"""Where N new connections to a Service land: the node's statistic cascade drawn in numpy, checked against real walks.

One connection is walked first (the probe). On the host whose netfilter
DNATed it, the chain that chose the endpoint is the one whose matched rule
jumps to a `KUBE-SEP-*` chain (kube-proxy's KUBE-SVC-*, or KUBE-SVL-* for
node-local endpoints under externalTrafficPolicy Local). Its rules are read
from the host's loaded ruleset: each `-m statistic --mode random
--probability p` rule matches when a 31-bit random draw is below
lround(2^31 p), exactly as xt_statistic and netfilter/matches.py compare,
and the first matching rule wins. All N connections are drawn at once as an
N x k matrix of draws. sessionAffinity ClientIP shows as `-m recent --rcheck`
rules before the cascade: then only a client's first connection draws and
the rest follow it (the affinity timeout is hours; the clock does not move).

The vectorized counts are tested against the split the probabilities imply
(Pearson's chi-square) and against `sample` connections walked packet by
packet through the emulator (a chi-square homogeneity test); every walked
endpoint must be one the cascade can pick. When the probe was not DNATed
by a cascade (no endpoints, a drop, a pod IP), there is nothing random: every
connection ends as the probe did.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from netsim.dataplane.trace import StepKind
from netsim.emulator.cluster import child_rng
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.errors import NetsimError
from netsim.netfilter.normalize import quantized_probability
from netsim.verify.observe import Observation, observe, pods_by_host
from netsim.verify.stats import ChiSquare, goodness_of_fit, homogeneity

FULL = 0x80000000  # xt_statistic compares (u32 & 0x7fffffff) against lround(2^31 p)
SEP_PREFIX = "KUBE-SEP-"


class DistributionError(NetsimError):
    """The cascade could not be read from the ruleset (a rule netsim cannot interpret this way)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One branch of the cascade: its KUBE-SEP chain, the DNAT destination, the pod behind it."""

    chain: str
    destination: str
    pod: str | None
    threshold: int  # the draw must be below this (FULL: the rule has no statistic match)

    @property
    def label(self) -> str:
        """The pod, else the destination address."""
        return self.pod or self.destination


@dataclass(frozen=True, slots=True)
class Cascade:
    """The endpoint-choosing chain on one host, as the ruleset holds it."""

    host: str
    chain: str
    endpoints: tuple[Endpoint, ...]
    affinity: bool  # `-m recent --rcheck` rules before the cascade (sessionAffinity ClientIP)

    def shares(self) -> np.ndarray:
        """The probability of each endpoint (first matching rule wins), then of falling through."""
        p = np.array([e.threshold / FULL for e in self.endpoints])
        reach = np.concatenate(([1.0], np.cumprod(1 - p)[:-1]))
        chosen = reach * p
        return np.append(chosen, max(0.0, 1 - chosen.sum()))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Endpoint index per connection for n fresh draws (len(endpoints): fell through the chain)."""
        thresholds = np.array([e.threshold for e in self.endpoints], dtype=np.int64)
        draws = rng.integers(0, FULL, size=(n, len(thresholds)), dtype=np.int64)
        hits = draws < thresholds
        return np.where(hits.any(axis=1), hits.argmax(axis=1), len(thresholds))


@dataclass(frozen=True, slots=True)
class Distribution:
    """The answer: counts per endpoint, the expected split, both tests, and what the Service's policies did."""

    source: str
    target: str
    flows: int
    cascade: Cascade | None
    labels: tuple[str, ...]          # one per category (endpoints, then "fell through" if it can happen)
    counts: tuple[int, ...]
    expected: tuple[float, ...]
    fit: ChiSquare | None            # None when the split is not random (affinity, no cascade)
    sample_counts: tuple[int, ...]
    sample_agreement: ChiSquare | None
    sample_outside: tuple[str, ...]  # walked endpoints the cascade cannot pick (must be empty)
    notes: tuple[str, ...]

    def format(self) -> str:
        """The text report."""
        lines = [f"distribution of {self.flows} new connection(s): {self.source} -> {self.target}"]
        if self.cascade is not None:
            lines.append(f"cascade: {self.cascade.host} nat/{self.cascade.chain}, "
                         f"{len(self.cascade.endpoints)} endpoint(s)")
        lines += [f"note: {n}" for n in self.notes]
        width = max([len(label) for label in self.labels] + [8])
        lines.append("")
        lines.append(f"{'ENDPOINT':<{width}}  {'COUNT':>7}  {'SHARE':>6}  {'EXPECTED':>8}  {'WALKED':>6}")
        total = sum(self.counts) or 1
        for label, count, want, walked in zip(self.labels, self.counts, self.expected, self.sample_counts):
            lines.append(f"{label:<{width}}  {count:>7}  {count / total:>6.3f}  {want:>8.3f}  {walked:>6}")
        lines.append("")
        if self.fit is not None:
            lines.append(f"goodness of fit to the expected split: {self.fit.format()}")
        if self.sample_agreement is not None:
            lines.append(f"walked sample of {sum(self.sample_counts)} vs the draw: {self.sample_agreement.format()}")
        if self.sample_outside:
            lines.append(f"MISMATCH: walked connections reached {', '.join(self.sample_outside)}, "
                         f"which the cascade cannot pick")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        def test(t: ChiSquare | None):
            return None if t is None else {"statistic": t.statistic, "df": t.df, "pValue": t.p_value}
        return {
            "from": self.source, "to": self.target, "flows": self.flows,
            "cascade": None if self.cascade is None else {
                "host": self.cascade.host, "chain": self.cascade.chain, "affinity": self.cascade.affinity,
                "endpoints": [{"chain": e.chain, "destination": e.destination, "pod": e.pod,
                               "probability": e.threshold / FULL} for e in self.cascade.endpoints]},
            "endpoints": [{"endpoint": label, "count": c, "expected": e, "walked": w}
                          for label, c, e, w in zip(self.labels, self.counts, self.expected, self.sample_counts)],
            "goodnessOfFit": test(self.fit), "sampleAgreement": test(self.sample_agreement),
            "sampleOutside": list(self.sample_outside), "notes": list(self.notes),
        }


def find_cascade(emulator: Emulator, probe: Observation) -> Cascade | None:
    """The cascade chain that chose the probe's endpoint, read from that host's ruleset; None if none did."""
    for step in probe.result.steps_of(0):
        if step.kind is not StepKind.HOOK:
            continue
        for t in step.nf_trace:
            if t.kind == "rule" and t.table == "nat" and f"-j {SEP_PREFIX}" in t.rule:
                return read_cascade(emulator, step.host, t.chain)
    return None


def read_cascade(emulator: Emulator, host: str, chain: str) -> Cascade:
    """The endpoints of `chain` in `host`'s nat table, with their thresholds and pods."""
    engine = emulator.network.host(host).netfilter
    nat = engine.ruleset.tables.get("nat")  # type: ignore[union-attr]
    if nat is None:
        raise DistributionError(f"{host}: no nat table")
    by_ip = {p.pod_ip: f"{p.namespace}/{p.name}" for p in emulator.cluster.store.list("Pod")  # type: ignore
             if p.pod_ip and p.phase == "Running" and not p.host_network}
    endpoints = []
    affinity = False
    for rule in nat.chain_rules(chain):
        if rule.target is None or not rule.target.name.startswith(SEP_PREFIX):
            continue
        modules = {m.module: m for m in rule.matches}
        if "recent" in modules:
            affinity = True
            continue
        threshold = FULL
        if "statistic" in modules:
            stat = modules["statistic"]
            mode = stat.get("--mode")
            prob = stat.get("--probability")
            if (mode is not None and mode.values[0] != "random") or prob is None or prob.negated:
                raise DistributionError(f"{host}: nat/{chain}: {rule.text}: only `-m statistic --mode random "
                                        f"--probability p` cascades are drawn")
            threshold = quantized_probability(float(prob.values[0]))
        destination = _dnat_destination(nat, rule.target.name, host)
        endpoints.append(Endpoint(rule.target.name, destination, by_ip.get(destination.rpartition(":")[0]),
                                  threshold))
    if not endpoints:
        raise DistributionError(f"{host}: nat/{chain} has no KUBE-SEP jumps")
    return Cascade(host, chain, tuple(endpoints), affinity)


def _dnat_destination(nat, chain: str, host: str) -> str:
    for rule in nat.chain_rules(chain):
        if rule.target is not None and rule.target.name == "DNAT":
            option = rule.target.get("--to-destination")
            if option is not None:
                return option.values[0]
    raise DistributionError(f"{host}: nat/{chain} has no DNAT --to-destination rule")


def distribution(emulator: Emulator, flow: FlowSpec, flows: int, sample: int = 200,
                 seed: int | None = None) -> Distribution:
    """Draw `flows` connections through the flow's cascade; walk `sample` of them for real (module docstring)."""
    store = emulator.cluster.store
    probe_conn = emulator.send(replace(flow, count=1), "--to")[0]
    by_host = pods_by_host(store)
    probe = observe(store, probe_conn, 1, by_host)
    source, target = probe_conn.sender.label, f"{probe_conn.target.label} ({probe_conn.target.address}:" \
                                              f"{probe_conn.target.port})"
    sample = min(sample, flows)
    walked = [observe(store, c, n, by_host) for n, c in
              enumerate(emulator.send(replace(flow, count=sample), "--to"), start=2)] if sample else []
    cascade = find_cascade(emulator, probe)
    notes = list(_policy_notes(emulator, flow))
    if cascade is None:
        label = probe.pod.label if probe.pod else probe.where
        walked_labels = Counter(o.pod.label if o.pod else o.where for o in walked)
        outside = tuple(sorted(set(walked_labels) - {label}))
        notes.append("no statistic cascade chose the destination: every connection ends as the probe did")
        return Distribution(source, target, flows, None, (label,), (flows,), (1.0,), None,
                            (walked_labels.get(label, 0),), None, outside, tuple(notes))
    rng = np.random.Generator(np.random.PCG64(child_rng(emulator.cluster.seed if seed is None else seed,
                                                        "distribution").integers(0, 2**63)))
    k = len(cascade.endpoints)
    shares = cascade.shares()
    if cascade.affinity:
        # one client: its first connection draws, the rest follow it (the probe already drew in the walk)
        first = cascade.draw(rng, 1)[0]
        picks = np.full(flows, first)
        notes.append("sessionAffinity ClientIP: one client's connections all follow its first pick "
                     "(-m recent --rcheck before the cascade); the split is per client, not per connection")
    else:
        picks = cascade.draw(rng, flows)
    counts = np.bincount(picks, minlength=k + 1)
    labels = [e.label for e in cascade.endpoints]
    fall = shares[-1] > 0 or counts[-1] > 0
    if fall:
        labels.append(f"(fell through nat/{cascade.chain})")
    else:
        counts, shares = counts[:k], shares[:k]
    random_split = not cascade.affinity and int(np.count_nonzero(shares)) > 1
    fit = goodness_of_fit(counts.tolist(), shares.tolist()) if random_split else None
    walked_counts = Counter(o.pod.label if o.pod else o.where for o in walked)
    index = {label: i for i, label in enumerate(labels)}
    sample_counts = [0] * len(labels)
    outside = []
    for label, n in sorted(walked_counts.items()):
        if label in index:
            sample_counts[index[label]] += n
        else:
            outside.append(label)
    agreement = homogeneity(counts.tolist(), sample_counts) if sample and random_split else None
    if cascade.affinity and sample:
        stuck = sorted(label for label, n in walked_counts.items() if n)
        if len(stuck) == 1:
            notes.append(f"walked sample: all {sample} connection(s) stuck to {stuck[0]}, the pick of the probe "
                         f"connection before them")
        else:
            outside.append(f"affinity broken: the walked sample spread over {', '.join(stuck)}")
    return Distribution(source, target, flows, cascade, tuple(labels), tuple(int(c) for c in counts),
                        tuple(float(s) for s in shares), fit, tuple(sample_counts), agreement, tuple(outside),
                        tuple(notes))


def _policy_notes(emulator: Emulator, flow: FlowSpec) -> list[str]:
    """What the target Service's sessionAffinity and externalTrafficPolicy mean for this flow."""
    ref = flow.destination
    kind, _, rest = ref.partition("/")
    if kind not in ("service", "services", "svc", "nodeport", "loadbalancer", "lb"):
        return []
    ns, _, name = rest.rpartition("/")
    name = name.partition(":")[0].partition("@")[0]
    svc = emulator.cluster.store.try_get("Service", name, ns or "default")
    if svc is None:
        return []
    data = svc.to_dict().get("spec", {})
    notes = []
    etp = data.get("externalTrafficPolicy")
    if etp == "Local":
        if kind in ("nodeport", "loadbalancer", "lb"):
            notes.append("externalTrafficPolicy Local: only endpoints on the receiving node are candidates "
                         "(KUBE-SVL chain), and the client's address is kept; a node without one drops")
        else:
            notes.append("externalTrafficPolicy Local applies to NodePort and LoadBalancer traffic only; "
                         "this ClusterIP traffic uses every endpoint")
    if data.get("sessionAffinity") == "ClientIP":
        seconds = (data.get("sessionAffinityConfig") or {}).get("clientIP", {}).get("timeoutSeconds", 10800)
        notes.append(f"sessionAffinity ClientIP (timeout {seconds}s)")
    return notes
