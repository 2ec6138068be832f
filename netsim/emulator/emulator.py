"""`Emulator`: the object users hold — a settled cluster, its network, and the traffic sent through it.

It sends a flow connection by connection: each connection is one TCP SYN (or
one UDP datagram) from the sender with a fresh ephemeral source port, walked
to completion (the answer included), with every frame captured when a
capture set is given. Ephemeral ports come from Linux's default range
(net.ipv4.ip_local_port_range 32768-60999), drawn from the seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netsim.api.errors import FieldError
from netsim.capture.points import CaptureSet
from netsim.dataplane.network import Network
from netsim.dataplane.trace import WalkResult
from netsim.emulator.cluster import Cluster, child_rng
from netsim.emulator.external import EXTERNAL_HOST, follow_announcements
from netsim.emulator.wiring import NODE_IFACE, build_network
from netsim.packet import Packet, Proto, TcpFlag
from netsim.emulator.traffic import FlowSpec, Sender, Target, resolve_sender, resolve_target

EPHEMERAL_PORTS = (32768, 60999)


@dataclass(frozen=True, slots=True)
class Connection:
    """One connection of a flow: what was sent and the walk that followed."""

    sender: Sender
    target: Target
    sport: int
    result: WalkResult


class Emulator:
    """A running emulated cluster: the api state, its dataplane, and a capture of what crossed it."""

    def __init__(self, cluster: Cluster, capture: CaptureSet | None = None) -> None:
        self.cluster = cluster
        self.capture = capture
        self.network: Network = build_network(cluster, capture)
        self._ports = child_rng(cluster.seed, "ephemeral-ports")
        self._used: set[tuple[str, int]] = set()

    def ephemeral_port(self, host: str) -> int:
        """A source port not yet used by `host` in this run."""
        low, high = EPHEMERAL_PORTS
        while True:
            port = int(self._ports.integers(low, high + 1))
            if (host, port) not in self._used:
                self._used.add((host, port))
                return port

    def send(self, flow: FlowSpec, field: str = "traffic",
             progress: Callable[[int], None] | None = None) -> list[Connection]:
        """Send every connection of a flow; returns them in order (`progress(done)` after each, if given)."""
        store = self.cluster.store
        sender = resolve_sender(store, flow.source, f"{field}.from", self.external_sender())
        _refuse_a_down_machine(self.cluster, sender, f"{field}.from")
        target = resolve_target(store, flow.destination, flow.protocol, f"{field}.to")
        connections = []
        for _ in range(flow.count):
            sport = self.ephemeral_port(sender.host)
            packet = first_packet(sender, target, flow.protocol, sport, flow.payload)
            connections.append(Connection(sender, target, sport, self.network.send(sender.host, packet)))
            if progress is not None:
                progress(len(connections))
        return connections

    def rebuild(self) -> None:
        """Rebuild the dataplane from the api state as it stands (after objects changed), keeping the capture.

        Every node's rules are rendered anew, as kube-proxy's next sync writes
        them; conntrack entries and ARP caches start empty, except the entries
        for load-balancer addresses (external.py `follow_announcements`). Frame timestamps
        continue after the last frame of the old network, so captures stay in order.
        """
        old = self.network
        floor = old.now() + old.hop_latency
        self.network = build_network(self.cluster, self.capture)
        clock = self.network.clock or (lambda: 0.0)
        self.network.clock = lambda: max(clock(), floor)
        # MetalLB L2 failover: LB addresses' cache entries kept, gratuitous ARP from new speakers (external.py)
        follow_announcements(old, self.network, self.cluster.store, self.cluster.speakers, NODE_IFACE, floor)

    def external_sender(self) -> Sender:
        """The client outside the cluster (emulator/external.py), as a flow's sender."""
        address = self.cluster.topology.node_gateway
        return Sender(EXTERNAL_HOST, address, f"external client {address}")  # type: ignore[arg-type]

    def close(self) -> None:
        """Flush and close the capture files."""
        if self.capture is not None:
            self.capture.close()


def _refuse_a_down_machine(cluster: Cluster, sender: Sender, field: str) -> None:
    """A node whose machine is down (Cluster.fail_node) sends nothing, nor do the pods on it: bad input."""
    node = sender.host if cluster.store.try_get("Node", sender.host) is not None else None
    if node is None and "/" in sender.host:
        namespace, name = sender.host.split("/", 1)
        pod = cluster.store.try_get("Pod", name, namespace)
        node = pod.node_name if pod is not None else None
    if node and not cluster.nodes.up(node):
        raise FieldError(f"{sender.label} is on node {node}, whose machine is down (netsim node recover {node})",
                         field)


def first_packet(sender: Sender, target: Target, protocol: str, sport: int, payload: bytes) -> Packet:
    """The packet that opens a connection: a TCP SYN, or a UDP datagram carrying the payload."""
    if protocol == "UDP":
        return Packet(sender.address, target.address, Proto.UDP, sport, target.port, payload=payload)
    return Packet(sender.address, target.address, Proto.TCP, sport, target.port, tcp_flags=TcpFlag.SYN,
                  seq=_isn(sender, sport), window=64240)


def _isn(sender: Sender, sport: int) -> int:
    """A deterministic initial sequence number for the client side."""
    return (int(sender.address) * 2654435761 + sport * 40503) & 0xFFFFFFFF
