"""What one connection did, in the cluster's terms: which pod it reached, what source that pod saw, what came back.

An `Observation` joins a walk (dataplane) to the api state: the host where
packet 0 was delivered becomes the pod behind it (a pod's own network
namespace, or a hostNetwork pod on the node by the port it listens on), and
the source address on the last hop is what the backend saw. Expectations,
reports, the pytest plugin and `netsim trace` all read connections through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netsim.api.selector import parse_selector_string
from netsim.api.store import Store
from netsim.dataplane.trace import Outcome, WalkResult
from netsim.emulator.emulator import Connection
from netsim.emulator.wiring import pod_host_name
from netsim.packet import Proto, TcpFlag
from netsim.verify.summary import PacketPath, hops, packet_path, reply_packet


@dataclass(frozen=True, slots=True)
class PodRef:
    """A pod as a connection found it: identity, node, address and labels (sorted pairs)."""

    namespace: str
    name: str
    node: str
    ip: str
    labels: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """`namespace/name`, as reports print it."""
        return f"{self.namespace}/{self.name}"

    @property
    def label_text(self) -> str:
        """The labels as a selector would write them (`app=web,version=v1`)."""
        return ",".join(f"{k}={v}" for k, v in self.labels)

    def has_labels(self, selector: str) -> bool:
        """Whether the pod's labels satisfy a selector written as kubectl -l takes it."""
        return parse_selector_string(selector).matches(dict(self.labels))


@dataclass(frozen=True, slots=True)
class Observation:
    """One connection's answers: its path, where packet 0 ended, the pod, the source it saw, the reply."""

    number: int
    connection: Connection
    path: PacketPath
    pod: PodRef | None
    seen_source: str | None  # the source address on the backend's side (None when not delivered)
    reply: str               # "SYN-ACK from 10.96.0.10:80", "RST from ...", "" when nothing came back

    @property
    def outcome(self) -> Outcome:
        """How packet 0 ended."""
        return self.path.outcome

    @property
    def result(self) -> WalkResult:
        """The whole walk."""
        return self.connection.result

    @property
    def client_ip_kept(self) -> bool | None:
        """True when the backend saw the sender's own address; None when packet 0 was not delivered."""
        if self.seen_source is None:
            return None
        return self.seen_source == str(self.connection.sender.address)

    @property
    def where(self) -> str:
        """Where packet 0 ended, in words: the pod, or the outcome and host."""
        if self.pod is not None:
            return f"pod {self.pod.label}"
        if self.path.app:
            return f"{self.path.app} on {self.path.end_host}"
        text = f"{self.outcome.value} on {self.path.end_host}"
        return text + (f" ({self.path.reason})" if self.path.reason else "")


def pods_by_host(store: Store) -> dict[str, object]:
    """Running pods with their own network namespace, by the name of that host."""
    return {pod_host_name(p): p for p in store.list("Pod")  # type: ignore[arg-type]
            if p.phase == "Running" and not p.host_network}  # type: ignore[attr-defined]


def pod_ref(pod) -> PodRef:
    """The PodRef of an api Pod."""
    return PodRef(pod.namespace, pod.name, pod.node_name or "", pod.pod_ip or "",
                  tuple(sorted((pod.labels or {}).items())))


def observe(store: Store, connection: Connection, number: int = 1,
            by_host: Mapping[str, object] | None = None) -> Observation:
    """The observation of one connection against the api state it ran in."""
    result = connection.result
    path = packet_path(result, 0)
    by_host = pods_by_host(store) if by_host is None else by_host
    pod = None
    seen = None
    if path.outcome is Outcome.DELIVERED:
        visits = hops(result, 0)
        last = visits[-1] if visits else None
        seen = last.src if last is not None else str(connection.sender.address)
        found = by_host.get(path.end_host)
        if found is None and last is not None:
            found = _host_network_pod(store, path.end_host, last.dport)
        pod = pod_ref(found) if found is not None else None
    return Observation(number, connection, path, pod, seen, _reply(result))


def _host_network_pod(store: Store, node: str, port: int):
    """The hostNetwork pod on `node` that declares container port `port`, if one does."""
    for pod in sorted(store.list("Pod"), key=lambda p: (p.namespace, p.name)):
        if pod.host_network and pod.node_name == node and pod.phase == "Running":  # type: ignore[attr-defined]
            if any(cp.container_port == port for c in pod.containers for cp in c.ports):  # type: ignore
                return pod
    return None


def _reply(result: WalkResult) -> str:
    """What reached the sender back, in tcpdump's words ("" when nothing did)."""
    if reply_packet(result) is None or not result.received:
        return ""
    back = result.received[0]
    if back.proto == Proto.TCP:
        if back.tcp_flags & TcpFlag.RST:
            kind = "RST"
        elif back.tcp_flags & TcpFlag.SYN and back.tcp_flags & TcpFlag.ACK:
            kind = "SYN-ACK"
        else:
            kind = "TCP answer"
    elif back.proto == Proto.UDP:
        kind = "UDP answer"
    else:
        return f"ICMP type {back.icmp_type} code {back.icmp_code} from {back.src}"
    return f"{kind} from {back.src}:{back.sport}"
