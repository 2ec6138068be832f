"""Topologies and fake netfilter runners shared by the dataplane tests.

`two_nodes()` builds the picture most tests use:

    pod-a eth0 10.244.1.2 ─ veth-a ┐                      ┌ veth-c ─ pod-c eth0 10.244.2.2
    pod-b eth0 10.244.1.3 ─ veth-b ┴ cni0 10.244.1.1      cni0 10.244.2.1 ┘
                                   node-1 eth0 192.168.0.10 ── lan ── node-2 eth0 192.168.0.11

with flannel host-gw style routes between the nodes.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

from netsim.dataplane import AcceptAll, EchoApp, ListSink, Network
from netsim.netfilter.hooks import Hook, HookResult, Verdict
from netsim.packet import Packet, Proto, TcpFlag


class Clock:
    """A settable simulated clock."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeRunner:
    """A HookRunner that records its calls and applies per-hook actions `fn(packet, in, out) -> HookResult|None`."""

    def __init__(self, **actions) -> None:
        self.actions = {Hook[name]: fn for name, fn in actions.items()}
        self.calls: list[tuple[Hook, str | None, str | None, str]] = []

    def run_hook(self, hook, packet, *, in_iface, out_iface, local_addresses):
        self.calls.append((hook, in_iface, out_iface, str(packet.dst)))
        action = self.actions.get(hook)
        if action is not None:
            result = action(packet, in_iface, out_iface)
            if result is not None:
                return result
        return HookResult(Verdict.ACCEPT, packet, trace=(f"{hook.value}: policy ACCEPT",))


def dnat(match_dst: str, match_port: int, to_dst: str, to_port: int):
    """A hook action rewriting (dst, dport) like `-j DNAT --to-destination`, and un-NATing replies' sources."""
    match_ip, to_ip = ip_address(match_dst), ip_address(to_dst)

    def action(packet, in_iface, out_iface):
        if packet.dst == match_ip and packet.dport == match_port:
            packet.dst, packet.dport = to_ip, to_port
            return HookResult(Verdict.ACCEPT, packet, trace=("DNAT",))
        return None

    return action


def unsnat(from_src: str, from_port: int, to_src: str, to_port: int):
    """A hook action rewriting a reply's source back (what conntrack does for the DNAT above)."""
    from_ip, to_ip = ip_address(from_src), ip_address(to_src)

    def action(packet, in_iface, out_iface):
        if packet.src == from_ip and packet.sport == from_port:
            packet.src, packet.sport = to_ip, to_port
            return HookResult(Verdict.ACCEPT, packet, trace=("un-DNAT",))
        return None

    return action


def both(*actions):
    """Run hook actions in turn; the first that returns a result wins."""

    def action(packet, in_iface, out_iface):
        for one in actions:
            result = one(packet, in_iface, out_iface)
            if result is not None:
                return result
        return None

    return action


def add_pod(net: Network, node: str, pod: str, veth: str, address: str, gateway: str) -> None:
    """A pod namespace with eth0 plugged into the node's cni0 through a veth pair."""
    net.add_host(pod)
    net.add_veth(node, veth, pod, "eth0")
    net.host(node).set_master(veth, "cni0")
    net.host(pod).add_address("eth0", address)
    net.host(pod).add_route("default", via=gateway)


def two_nodes(*, clock: Clock | None = None, node_netfilter=None, overlay: str = "host-gw") -> tuple[Network, ListSink]:
    """The two-node topology of the module docstring, with echo apps on port 8080 in every pod.

    `overlay="vxlan"` joins the pod networks as flannel's vxlan backend does instead: a
    `flannel.1` device (VNI 1, port 8472) with address 10.244.N.0/32 on each node, a route
    `10.244.M.0/24 via 10.244.M.0 dev flannel.1 onlink`, a permanent neighbour and an FDB entry.
    """
    sink = ListSink()
    net = Network(clock=clock or Clock(), sink=sink)
    for index, node in ((1, "node-1"), (2, "node-2")):
        host = net.add_host(node, forwarding=True)
        host.set_netfilter(AcceptAll() if node_netfilter is None else node_netfilter(node))
        host.add_interface("eth0")
        host.add_address("eth0", f"192.168.0.{9 + index}/24")
        host.add_bridge("cni0")
        host.add_address("cni0", f"10.244.{index}.1/24")
    net.add_segment("lan", [("node-1", "eth0"), ("node-2", "eth0")])
    if overlay == "vxlan":
        for index, node in ((1, "node-1"), (2, "node-2")):
            host = net.host(node)
            host.add_vxlan("flannel.1", vni=1, local=f"192.168.0.{9 + index}", dstport=8472, dev="eth0")
            host.add_address("flannel.1", f"10.244.{index}.0/32")
        for here, there, other in (("node-1", "node-2", 2), ("node-2", "node-1", 1)):
            host, remote = net.host(here), net.host(there)
            remote_mac = remote.interface("flannel.1").mac
            host.add_route(f"10.244.{other}.0/24", via=f"10.244.{other}.0", dev="flannel.1", onlink=True)
            host.add_neighbour(f"10.244.{other}.0", remote_mac, "flannel.1")
            host.fdb_append("flannel.1", remote_mac, f"192.168.0.{9 + other}")
    else:
        net.host("node-1").add_route("10.244.2.0/24", via="192.168.0.11")
        net.host("node-2").add_route("10.244.1.0/24", via="192.168.0.10")
    add_pod(net, "node-1", "pod-a", "veth-a", "10.244.1.2/24", "10.244.1.1")
    add_pod(net, "node-1", "pod-b", "veth-b", "10.244.1.3/24", "10.244.1.1")
    add_pod(net, "node-2", "pod-c", "veth-c", "10.244.2.2/24", "10.244.2.1")
    for pod in ("pod-a", "pod-b", "pod-c"):
        net.host(pod).bind(EchoApp(f"echo@{pod}"), Proto.TCP, 8080)
        net.host(pod).bind(EchoApp(f"udp-echo@{pod}"), Proto.UDP, 8080)
    return net, sink


def syn(src: str, dst: str, dport: int = 8080, sport: int = 40000, **fields) -> Packet:
    """A TCP SYN record."""
    fields = {"tcp_flags": int(TcpFlag.SYN), "seq": 1000, **fields}
    return Packet(IPv4Address(src), IPv4Address(dst), Proto.TCP, sport=sport, dport=dport, **fields)


def udp(src: str, dst: str, dport: int = 8080, sport: int = 40000, payload: bytes = b"hi", **fields) -> Packet:
    """A UDP datagram record."""
    return Packet(IPv4Address(src), IPv4Address(dst), Proto.UDP, sport=sport, dport=dport, payload=payload,
                  **fields)


def ping(src: str, dst: str, **fields) -> Packet:
    """An ICMP echo request record."""
    return Packet(IPv4Address(src), IPv4Address(dst), Proto.ICMP, icmp_type=8, icmp_id=7, icmp_seq=1,
                  payload=b"ping", **fields)
