"""`ClusterProbe`: an emulated cluster for routing regression tests — trace a connection, assert where it went.

    probe = ClusterProbe.load("cluster/quickstart")
    t = probe.trace("pod/default/client", "svc/default/web:80")
    assert t.delivered_to.matches("app=web")
    assert t.client_ip_kept

Checks return a `Verdict`: truthy when it holds, and its repr says what
happened when it does not (the pod reached and its labels, the path, the
NAT), so a failing `assert` reads as an explanation. Every failed verdict
is also kept on the probe (`failures`), with the whole trace, for the
pytest plugin to attach to the test report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netsim.api.apply import apply_manifests
from netsim.api.load import is_netsim_document, load_paths, parse_documents
from netsim.api.topology import load_topology
from netsim.dataplane.trace import Outcome
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.errors import InputError
from netsim.verify.observe import Observation, PodRef, observe, pods_by_host
from netsim.verify.scenario import Cascade, load_scenario
from netsim.verify.trace import PathTrace, path_trace

DEFAULT_TOPOLOGY = Path(__file__).resolve().parents[2] / "topologies" / "three-node.yaml"


class ProbeInputError(InputError):
    """The probe's inputs are missing or wrong (no topology, no such file)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's result: truthy when it held; its repr explains a failure in one line."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"<{'ok' if self.passed else 'FAILED'}: {self.message}>"


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where packet 0 was delivered: the pod (None when it was not delivered to one) and how it got there."""

    pod: PodRef | None
    ending: str
    path: str
    probe: ClusterProbe = field(repr=False, compare=False)
    trace: PathTrace = field(repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.pod is not None

    def __repr__(self) -> str:
        if self.pod is None:
            return f"<not delivered to a pod: {self.ending}>"
        return f"<pod {self.pod.label} ({self.pod.label_text})>"

    def matches(self, selector: str) -> Verdict:
        """Whether the pod reached has labels matching `selector` (kubectl -l syntax)."""
        if self.pod is not None and self.pod.has_labels(selector):
            return Verdict(True, f"{self.pod.label} matches {selector}")
        if self.pod is None:
            message = f"expected a pod matching {selector}, but {self.ending}; path {self.path}"
        else:
            message = (f"expected a pod matching {selector}, got {self.pod.label} "
                       f"({self.pod.label_text or 'no labels'}); path {self.path}")
        return self.probe.record(Verdict(False, message), self.trace)

    def is_pod(self, name: str) -> Verdict:
        """Whether the pod reached is `[namespace/]name`."""
        want = name if "/" in name else f"default/{name}"
        if self.pod is not None and self.pod.label == want:
            return Verdict(True, f"reached {want}")
        got = self.pod.label if self.pod else self.ending
        return self.probe.record(Verdict(False, f"expected pod {want}, got {got}; path {self.path}"), self.trace)


@dataclass(frozen=True, slots=True)
class Traced:
    """One traced connection: its observation, its hop-by-hop trace, and checks over them."""

    observation: Observation
    trace: PathTrace
    probe: ClusterProbe = field(repr=False, compare=False)

    def __repr__(self) -> str:
        o = self.observation
        return f"<trace {self.trace.source} -> {self.trace.target}: {o.where}>"

    @property
    def outcome(self) -> str:
        """How packet 0 ended (`delivered`, `dropped`, `rejected`, `no-listener`, ...)."""
        return self.observation.outcome.value

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts packet 0 crossed, in order."""
        return self.observation.path.hosts

    @property
    def path(self) -> str:
        """`a -> b -> c`."""
        return " -> ".join(self.hosts)

    @property
    def delivered_to(self) -> Delivery:
        """Where packet 0 was delivered."""
        return Delivery(self.observation.pod, self.observation.where, self.path, self.probe, self.trace)

    @property
    def seen_source(self) -> str | None:
        """The source address the backend saw."""
        return self.observation.seen_source

    @property
    def client_ip_kept(self) -> Verdict:
        """Whether the backend saw the sender's own address."""
        o = self.observation
        sender = str(o.connection.sender.address)
        if o.client_ip_kept:
            return Verdict(True, f"the backend saw the sender's address {sender}")
        why = f"the backend saw {o.seen_source}" if o.seen_source else f"packet 0 was not delivered ({o.where})"
        return self.probe.record(Verdict(False, f"expected the client IP {sender} kept, but {why}; "
                                                f"path {self.path}"), self.trace)

    @property
    def masqueraded(self) -> Verdict:
        """Whether a node rewrote the source before the backend saw it."""
        o = self.observation
        if o.client_ip_kept is False:
            return Verdict(True, f"the backend saw {o.seen_source}, not {o.connection.sender.address}")
        why = "it kept the client's address" if o.client_ip_kept else f"packet 0 was not delivered ({o.where})"
        return self.probe.record(Verdict(False, f"expected the source masqueraded, but {why}; path {self.path}"),
                                 self.trace)

    def ended(self, *outcomes: str) -> Verdict:
        """Whether packet 0 ended in one of `outcomes` (Outcome values such as dropped, rejected)."""
        wanted = [Outcome(o) for o in outcomes]
        if self.observation.outcome in wanted:
            return Verdict(True, f"{self.outcome}")
        return self.probe.record(Verdict(False, f"expected {' or '.join(outcomes)}, got {self.observation.where}; "
                                                f"path {self.path}"), self.trace)

    def text(self) -> str:
        """The hop-by-hop trace, as `netsim trace` prints it."""
        return self.trace.format()


class ClusterProbe:
    """A built cluster and its network, with trace/send checks for tests; one per test is the intended use."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.failures: list[tuple[Verdict, PathTrace]] = []

    @classmethod
    def load(cls, *paths: str | Path, topology: str | Path | None = None, seed: int | None = None) -> ClusterProbe:
        """From manifest files/folders, or one scenario folder/file (its manifests, topology and seed)."""
        if not paths:
            raise ProbeInputError("give at least one manifest file or folder")
        for path in paths:
            if not Path(path).exists():
                raise ProbeInputError(f"{path}: no such file or folder")
        scenario_topology, scenario_seed, manifests = None, None, None
        if len(paths) == 1 and _has_scenario(Path(paths[0])):
            scenario = load_scenario(paths[0])
            scenario_topology, scenario_seed, manifests = scenario.topology, scenario.seed, scenario.manifests
        if manifests is None:
            manifests = load_paths(paths)
        topo = topology or scenario_topology or (DEFAULT_TOPOLOGY if DEFAULT_TOPOLOGY.exists() else None)
        if topo is None:
            raise ProbeInputError("no topology: pass topology=PATH (a kind Cluster file)")
        chosen_seed = seed if seed is not None else (scenario_seed or 0)
        return cls(Emulator(Cluster.build(load_topology(topo), manifests, seed=chosen_seed)))

    @property
    def store(self):
        """The api state."""
        return self.emulator.cluster.store

    def record(self, verdict: Verdict, trace: PathTrace) -> Verdict:
        """Keep a failed verdict with its trace (for the test report); returns it."""
        self.failures.append((verdict, trace))
        return verdict

    def send(self, source: str, destination: str, count: int = 1, protocol: str = "TCP",
             payload: str = "") -> tuple[Observation, ...]:
        """Send `count` connections; one Observation each."""
        flow = FlowSpec.from_dict({"from": source, "to": destination, "protocol": protocol, "count": count,
                                   "payload": payload}, 0)
        connections = self.emulator.send(flow, f"{source} -> {destination}")
        by_host = pods_by_host(self.store)
        return tuple(observe(self.store, c, n, by_host) for n, c in enumerate(connections, start=1))

    def trace(self, source: str, destination: str, protocol: str = "TCP", payload: str = "") -> Traced:
        """Send one connection and trace it."""
        (observation,) = self.send(source, destination, 1, protocol, payload)
        return Traced(observation, path_trace(observation, protocol.upper()), self)

    def apply(self, *paths: str | Path) -> None:
        """`kubectl apply -f` the files, settle, rebuild the network."""
        apply_manifests(self.store, load_paths(paths))
        self._changed()

    def scale(self, kind: str, name: str, replicas: int, namespace: str = "default") -> None:
        """`kubectl scale` a Deployment or ReplicaSet, settle, rebuild the network."""
        self.store.patch(kind, name, namespace, {"spec": {"replicas": replicas}})
        self._changed()

    def delete(self, kind: str, name: str, namespace: str = "default", cascade: str = "background") -> None:
        """`kubectl delete --cascade=...`, settle, rebuild the network."""
        self.store.delete(kind, name, namespace, propagation=Cascade(cascade).propagation)
        self._changed()

    def _changed(self) -> None:
        self.emulator.cluster.settle()
        self.emulator.rebuild()

    def close(self) -> None:
        """Close captures, if any."""
        self.emulator.close()


def _has_scenario(path: Path) -> bool:
    """Whether a file or folder holds a netsim Scenario document."""
    files: Sequence[Path] = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
    for file in files:
        if any(is_netsim_document(d) for d in parse_documents(file.read_text(encoding="utf-8"), str(file))):
            return True
    return False
