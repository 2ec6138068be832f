"""Running a scenario: build its cluster, then each step in order, yielding one `StepReport` per step.

Changes (apply, delete, scale, patch) go through the store as kubectl's requests
would, the controllers settle, and the emulator's network is rebuilt from the
new state (every node's rules as kube-proxy's next sync writes them). Send
steps walk their connections and check the step's expectations. Resolve and
dig steps send their DNS queries as packets (`DnsClient`, one per run so
query IDs keep drawing from one generator) and check theirs.
Steps are yielded as they finish, so a caller can print while the run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from netsim.api.apply import apply_manifests
from netsim.api.errors import NotFound
from netsim.api.load import Manifest
from netsim.api.patches import patch_object
from netsim.api.store import Store
from netsim.api.topology import Topology
from netsim.capture.points import CaptureSet
from netsim.dataplane.trace import WalkResult
from netsim.dns.dig import rdata_text
from netsim.dns.message import fqdn
from netsim.emulator.cluster import Cluster
from netsim.emulator.dnsquery import DIG_TRIES, DnsClient
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.verify.expect import Check, DnsOutcome, check_all, check_dns
from netsim.verify.observe import Observation, observe, pods_by_host
from netsim.verify.scenario import (AdvanceStep, ApplyStep, DeleteStep, DigStep, NodeStep, PatchStep, ResolveStep,
                                    Scenario, SendStep, Step, answer_text, dns_step_title)
from netsim.verify.summary import (describe, dig_lines, message_dict, packet_path, resolution_lines,
                                   rewrite_text)

# progress(step number from 1, steps in all, step name, connections done, connections in the step)
Progress = Callable[[int, int, str, int, int], None]


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one step did: text lines for people, observations and checks for machines."""

    index: int
    field: str
    name: str
    action: str
    lines: tuple[str, ...]
    flow: FlowSpec | None = None
    observations: tuple[Observation, ...] = ()
    checks: tuple[Check, ...] = ()
    dns: dict[str, Any] | None = None   # a resolve or dig step's queries and answers, JSON-ready

    @property
    def passed(self) -> bool:
        """True when every check of the step held (or there were none)."""
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON-ready data (every connection, every check)."""
        out: dict[str, Any] = {"index": self.index, "field": self.field, "name": self.name, "action": self.action}
        if self.flow is not None:
            out["flow"] = {"from": self.flow.source, "to": self.flow.destination, "protocol": self.flow.protocol,
                           "count": self.flow.count}
            out["connections"] = [observation_dict(o) for o in self.observations]
            out["reached"] = dict(sorted(reached(self.observations).items()))
        elif self.dns is not None:
            out["dns"] = self.dns
        else:
            out["detail"] = list(self.lines)
        out["checks"] = [{"expectation": c.expectation, "passed": c.passed, "reason": c.reason} for c in self.checks]
        out["passed"] = self.passed
        return out


def observation_dict(o: Observation) -> dict[str, Any]:
    """One connection as JSON-ready data."""
    conn = o.connection
    return {
        "number": o.number,
        "source": f"{conn.sender.address}:{conn.sport}",
        "destination": f"{conn.target.address}:{conn.target.port}",
        "path": list(o.path.hosts),
        "nat": [rewrite_text(rw) for rw in o.path.rewrites],
        "outcome": o.outcome.value,
        "host": o.path.end_host,
        "app": o.path.app,
        "reason": o.path.reason,
        "pod": o.pod.label if o.pod else None,
        "podLabels": dict(o.pod.labels) if o.pod else None,
        "sourceSeenByBackend": o.seen_source,
        "reply": o.reply or None,
    }


def reached(observations: Sequence[Observation]) -> Counter:
    """Connections per place they ended (a pod, or `outcome on host`)."""
    counts: Counter = Counter()
    for o in observations:
        if o.pod is not None:
            counts[o.pod.label] += 1
        elif o.path.app:
            counts[o.path.end_host] += 1
        else:
            counts[f"{o.outcome.value} on {o.path.end_host}"] += 1
    return counts


def build_emulator(scenario: Scenario, topology: Topology, seed: int, extra: Sequence[Manifest] = (),
                   capture: CaptureSet | None = None) -> Emulator:
    """The scenario's cluster, settled, with its network (and the capture, if given)."""
    cluster = Cluster.build(topology, [*scenario.manifests, *extra], seed=seed)
    return Emulator(cluster, capture)


def cluster_line(store: Store) -> str:
    """`3 nodes, 3 pods (3 running), 2 services`."""
    pods = store.list("Pod")
    return (f"{len(store.list('Node'))} nodes, {len(pods)} pods "
            f"({sum(1 for p in pods if p.phase == 'Running')} running), {len(store.list('Service'))} services")


def run_steps(scenario: Scenario, emulator: Emulator, progress: Progress | None = None,
              show: int = 10) -> Iterator[StepReport]:
    """Run every step in order; yields each step's report when it is done (`show`: connections detailed in text)."""
    total = len(scenario.steps)
    source = str(scenario.source or scenario.folder)
    dns: DnsClient | None = None
    for number, step in enumerate(scenario.steps, start=1):
        action = step.action
        if isinstance(action, SendStep):
            tick = None
            if progress is not None:
                def tick(done: int, _n=number, _s=step, _c=action.flow.count) -> None:
                    progress(_n, total, _s.name, done, _c)
            yield _send(step, action, emulator, tick, show, source)
        elif isinstance(action, (ResolveStep, DigStep)):
            if progress is not None:
                progress(number, total, step.name, 0, 0)
            dns = dns or DnsClient(emulator)
            if isinstance(action, ResolveStep):
                yield _resolve(step, action, dns, f"{source}: {step.field}.resolve.from")
            else:
                yield _dig(step, action, dns, f"{source}: {step.field}.dig.from")
        else:
            if progress is not None:
                progress(number, total, step.name, 0, 0)
            yield _change(step, action, emulator)


def _change(step: Step, action, emulator: Emulator) -> StepReport:
    """Apply a change through the store (or the clock, or a node's machine), settle, rebuild the network."""
    cluster = emulator.cluster
    store = cluster.store
    if isinstance(action, AdvanceStep):
        cluster.advance(action.seconds)
        what = f"{step.name} (now {cluster.clock.rfc3339()})"
        kind = "advance"
    elif isinstance(action, NodeStep):
        _require(store, "Node", action.name, "", step)
        (cluster.fail_node if action.action == "failNode" else cluster.recover_node)(action.name)
        what = step.name
        kind = action.action
    elif isinstance(action, ApplyStep):
        objects = apply_manifests(store, action.manifests)
        what = "apply: " + ", ".join(f"{o.kind} {o.namespace + '/' if o.namespace else ''}{o.name}" for o in objects)
        kind = "apply"
    elif isinstance(action, DeleteStep):
        _require(store, action.kind, action.name, action.namespace, step)
        store.delete(action.kind, action.name, action.namespace, propagation=action.cascade.propagation)
        what = f"{step.name} (cascade {action.cascade.value})"
        kind = "delete"
    elif isinstance(action, PatchStep):
        _require(store, action.kind, action.name, action.namespace, step)
        changed, _ = patch_object(store, action.kind, action.name, action.namespace, action.patch, action.patch_type)
        what = f"{step.name} ({action.patch_type}{'' if changed else ', no change'})"
        kind = "patch"
    else:
        current = _require(store, action.kind, action.name, action.namespace, step)
        before = current.to_dict().get("spec", {}).get("replicas")
        store.patch(action.kind, action.name, action.namespace, {"spec": {"replicas": action.replicas}})
        what = f"{step.name} (was {before})"
        kind = "scale"
    cluster.settle()
    emulator.rebuild()
    return StepReport(step.index, step.field, step.name, kind, (what, f"cluster: {cluster_line(store)}"))


def _require(store: Store, kind: str, name: str, namespace: str, step: Step):
    obj = store.try_get(kind, name, namespace)
    if obj is None:
        where = f" in namespace {namespace}" if namespace else ""
        raise NotFound(f"{step.field}: {kind} {name!r} not found{where}")
    return obj


def _send(step: Step, action: SendStep, emulator: Emulator, tick, show: int, source: str) -> StepReport:
    """Walk the flow's connections, observe them, check the expectation."""
    flow = action.flow
    store = emulator.cluster.store
    connections = emulator.send(flow, f"{source}: {step.field}", tick)
    by_host = pods_by_host(store)
    observations = tuple(observe(store, c, n, by_host) for n, c in enumerate(connections, start=1))
    checks = check_all(action.expect, observations, store) if not action.expect.empty else ()
    first = connections[0]
    lines = [f"{flow.name}: {flow.protocol} {first.sender.label} -> {first.target.label} "
             f"({first.target.address}:{first.target.port}), {len(connections)} connection(s)"]
    for o in observations[:show]:
        lines += connection_lines(o)
    if len(observations) > show:
        hidden = f"#{show + 1}" if len(observations) == show + 1 else f"#{show + 1}-#{len(observations)}"
        lines.append(f"  ... {hidden} not shown (--json has every connection)")
    lines.append("  reached: " + ", ".join(f"{name} x{n}" for name, n in sorted(reached(observations).items())))
    lines += [f"  {c.format()}" for c in checks]
    return StepReport(step.index, step.field, step.name, "send", tuple(lines), flow, observations, checks)


def connection_lines(o: Observation) -> list[str]:
    """The text of one connection: addresses, path, NAT, where it ended, what came back."""
    conn = o.connection
    lines = describe(o.path, f"  #{o.number} {conn.sender.address}:{conn.sport} -> "
                             f"{conn.target.address}:{conn.target.port}")
    if o.reply:
        lines.append(f"    {o.reply} received by {conn.sender.label}")
    else:
        lines.append("    no answer reached the sender")
    return lines


def _heading(step: Step, action: ResolveStep | DigStep, origin: str) -> str:
    """`resolve web from pod default/client`, after the step's own name when it has one."""
    what = dns_step_title(action).rpartition(" from ")[0] + f" from {origin}"
    return what if step.name == dns_step_title(action) else f"{step.name}: {what}"


def _walk_dict(trace: object) -> dict[str, Any]:
    """Where one query went (packet 0 of its walk): the hosts and the NAT on the way."""
    if not isinstance(trace, WalkResult):  # a TCP retry: several walks, reported by the query lines
        return {}
    path = packet_path(trace, 0)
    return {"path": list(path.hosts), "nat": [rewrite_text(rw) for rw in path.rewrites]}


def _resolve(step: Step, action: ResolveStep, dns: DnsClient, field: str) -> StepReport:
    """getaddrinfo from the step's origin through the emulated network; check what the stub got."""
    origin = dns.origin(action.origin, field).label
    conf = dns.resolv_conf(action.origin, field)
    start = dns.emulator.cluster.clock.now()
    res = dns.resolve(action.name, action.origin, action.family.value, field)
    asked = tuple(f"{s.query.question[0].type.name} {s.query.question[0].name}" for s in res.steps)
    last = next((i for i in reversed(range(len(res.steps))) if res.steps[i].reply is not None), None)
    got = DnsOutcome(answers=tuple(answer_text(a) for a in res.addresses),
                     rcode=res.steps[last].reply.rcode if last is not None else None,  # type: ignore[union-attr]
                     asked=asked, resolved_as=res.answered, failure=res.h_errno,
                     decided_by=asked[last] if last is not None else "")
    checks = check_dns(action.expect, got)
    lines = [_heading(step, action, origin), *resolution_lines(res, conf, start), *(f"  {c.format()}" for c in checks)]
    data = {"origin": origin, "name": res.name, "family": action.family.value, "resolv.conf": conf,
            "queries": [{"time": s.time - start, "server": s.server, "sport": s.sport, "proto": s.proto,
                         "query": message_dict(s.query), "outcome": s.outcome.value,
                         "reply": message_dict(s.reply) if s.reply else None, **_walk_dict(s.trace)}
                        for s in res.steps],
            "answered": res.answered, "addresses": list(res.addresses), "h_errno": res.h_errno,
            "rcode": got.rcode.name if got.rcode is not None else None}
    return StepReport(step.index, step.field, step.name, "resolve", tuple(lines), checks=checks, dns=data)


def _dig(step: Step, action: DigStep, dns: DnsClient, field: str) -> StepReport:
    """One dig question from the step's origin through the emulated network; check the reply."""
    origin = dns.origin(action.origin, field).label
    result = dns.dig(action.name, action.qtype, str(action.server) if action.server else None, action.origin,
                     tcp=action.tcp, field=field)
    reply = result.reply
    got = DnsOutcome(answers=tuple(answer_text(rdata_text(r)) for r in reply.answer) if reply else (),
                     rcode=reply.rcode if reply else None,
                     asked=tuple(f"{action.qtype.name} {fqdn(action.name)}" for _ in result.sports),
                     resolved_as=None, failure="" if reply else "no servers could be reached")
    checks = check_dns(action.expect, got)
    first = packet_path(result.walks[0], 0)
    lines = [_heading(step, action, origin), f"  path: {' -> '.join(first.hosts)}",
             *(f"  nat: {rewrite_text(rw)}" for rw in first.rewrites),
             *dig_lines(reply, str(result.server), result.proto, DIG_TRIES),
             *(f"  {c.format()}" for c in checks)]
    data = {"origin": origin, "server": str(result.server), "proto": result.proto,
            "query": message_dict(result.query), "reply": message_dict(reply) if reply else None,
            "tries": len(result.sports), "paths": [list(packet_path(w, 0).hosts) for w in result.walks],
            "answers": list(got.answers), "rcode": got.rcode.name if got.rcode is not None else None}
    return StepReport(step.index, step.field, step.name, "dig", tuple(lines), checks=checks, dns=data)
