"""Realize an emulator `Network` in real network namespaces: one per host and one per L2 segment.

STYLE 2: the description is the emulator's built `Network` (from
`netsim.emulator.wiring.build_network`), never re-derived: every host,
interface, MAC, MTU, address, route, bridge port, hairpin flag, vxlan
device, permanent neighbour, vxlan FDB entry, proxy-ARP flag and forwarding
switch is read from the `Host` objects and replayed with the iproute2
command its `Host` method names, hosts in sorted name order. Each node's
ruleset (the iptables-save text the emulator loaded) goes in with
`iptables-restore`; conntrack is the kernel's own.

Per host namespace (the emulator's interface names are kept, since rules
name them: `-o cni0`, `-i eth0`):
- `eth` NICs are one end of a veth pair whose other end (`p<n>`) is a port of
  the bridge `sw` in the segment's own namespace: the segment is a switch.
- veth pairs are created once, from the end whose (host, name) sorts first,
  the peer created straight into the other namespace: nothing is ever
  created in the root namespace.
- addresses without the kernel's prefix route where the emulator has none
  (ptp pods delete it): `noprefixroute`.
- sysctls: ip_forward as the host's `forwarding`,
  net.bridge.bridge-nf-call-iptables as `bridge_nf_call_iptables` (per
  namespace on this kernel), rp_filter 0 and IPv6 off (the emulator has
  neither), send_redirects 0 (the emulator does not send ICMP redirects;
  a redirect is an extra packet, not a different path), proxy_arp per NIC
  with proxy_delay 0: the kernel otherwise answers a broadcast request for
  a proxied address after a random delay of up to 0.8 s (arp_process →
  pneigh_enqueue), which the emulator, having no time to spend, does not
  model; Calico sets the same on its proxy-ARP veths.

Applications and ARP responders are not here: `apps.py` opens their sockets
in these namespaces.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from netsim.dataplane.host import Host
from netsim.dataplane.interfaces import InterfaceKind
from netsim.dataplane.neighbours import NeighbourState
from netsim.dataplane.network import Network
from netsim.live import netns
from netsim.live.errors import LiveError
from netsim.live.registry import RunRecord

SEGMENT_BRIDGE = "sw"
SEGMENT_HOST = "segment:"  # registry host names of segment namespaces: "segment:<name>"


@dataclass
class World:
    """A realized network: the run's registry entry and the namespace of each host and segment."""

    record: RunRecord
    network: Network
    namespaces: dict[str, str] = field(default_factory=dict)  # host name -> namespace
    segments: dict[str, str] = field(default_factory=dict)    # segment name -> namespace

    def ns(self, host: str) -> str:
        """The namespace of a host."""
        return self.namespaces[host]


def realize(network: Network, rulesets: dict[str, str], record: RunRecord) -> World:
    """Create the namespaces, links, addresses, routes and rules of `network` under `record`."""
    world = World(record, network)
    hosts = [network.hosts[name] for name in sorted(network.hosts)]
    for host in hosts:
        world.namespaces[host.name] = record.namespace_for(host.name)
        netns.add(world.namespaces[host.name])
    for segment in network.segments():
        world.segments[segment] = record.namespace_for(SEGMENT_HOST + segment)
        netns.add(world.segments[segment])
    for ns in [*world.namespaces.values(), *world.segments.values()]:
        _base_sysctls(ns)
    alias = f"nsl-{record.run_id}"
    ports = _create_links(world, hosts)
    for segment, ns in sorted(world.segments.items()):
        lines = [f"link add {SEGMENT_BRIDGE} type bridge", f"link set dev {SEGMENT_BRIDGE} alias {alias} up"]
        lines += [f"link set dev {port} master {SEGMENT_BRIDGE} alias {alias} up" for port in ports[segment]]
        netns.ip_batch(ns, lines, what=f"segment {segment} ({ns})")
        netns.sysctl(ns, "net/bridge/bridge-nf-call-iptables", 0)
    for host in hosts:
        _configure(world, host, alias)
    wait_ready(world)
    for host in hosts:
        text = rulesets.get(host.name)
        if text:
            netns.exec_in(world.ns(host.name), ["iptables-restore"], stdin=text,
                          what=f"{host.name}: iptables-restore of its ruleset")
    return world


def _base_sysctls(ns: str) -> None:
    """The namespace-wide switches the emulator's model assumes (module docstring)."""
    for scope in ("all", "default"):
        netns.sysctl(ns, f"net/ipv6/conf/{scope}/disable_ipv6", 1)
        netns.sysctl(ns, f"net/ipv4/conf/{scope}/rp_filter", 0)
        netns.sysctl(ns, f"net/ipv4/conf/{scope}/send_redirects", 0)


def _create_links(world: World, hosts: list[Host]) -> dict[str, list[str]]:
    """`ip link add` for every device; returns each segment's switch ports."""
    ports: dict[str, list[str]] = {s: [] for s in world.segments}
    for host in hosts:
        lines, later = [], []
        for name, iface in sorted(host.interfaces.items()):
            if iface.kind is InterfaceKind.ETH:
                if iface.segment is None:
                    lines.append(f"link add {name} type dummy")
                    continue
                port = f"p{len(ports[iface.segment])}"
                ports[iface.segment].append(port)
                lines.append(f"link add {name} type veth peer name {port} netns {world.segments[iface.segment]}")
            elif iface.kind is InterfaceKind.VETH:
                peer_host, peer_name = iface.peer  # type: ignore[misc]
                if (host.name, name) < (peer_host, peer_name):
                    lines.append(f"link add {name} type veth peer name {peer_name} netns {world.ns(peer_host)}")
            elif iface.kind is InterfaceKind.BRIDGE:
                lines.append(f"link add {name} type bridge")
            elif iface.kind is InterfaceKind.VXLAN:
                v = iface.vxlan
                dev = f" dev {v.dev}" if v.dev else ""
                later.append(f"link add {name} type vxlan id {v.vni} local {v.local}{dev} dstport {v.dstport} "
                             f"{'learning' if v.learning else 'nolearning'}")
        netns.ip_batch(world.ns(host.name), lines + later, what=f"{host.name}: creating links")
    return ports


def _configure(world: World, host: Host, alias: str) -> None:
    """MACs, MTUs, masters, addresses, routes, neighbours, FDB entries and per-NIC sysctls of one host."""
    ns = world.ns(host.name)
    lines = []
    ifaces = sorted(host.interfaces.items())
    for name, iface in ifaces:
        if iface.kind is InterfaceKind.LO:
            continue
        lines.append(f"link set dev {name} address {iface.mac} mtu {iface.mtu} alias {alias}")
    for name, iface in ifaces:
        if iface.master is not None:
            lines.append(f"link set dev {name} master {iface.master}")
            if iface.hairpin:
                lines.append(f"link set dev {name} type bridge_slave hairpin on")
    lines += [f"link set dev {name} up" for name, _ in ifaces]
    kernel_routes = {(r.dst, r.dev) for r in host.main_table if r.proto == "kernel"}
    for name, iface in ifaces:
        for addr in iface.addresses:
            if iface.kind is InterfaceKind.LO and str(addr) == "127.0.0.1/8":
                continue
            extra = " brd +" if addr.network.prefixlen <= 30 else ""
            if addr.network.prefixlen < 32 and (addr.network, name) not in kernel_routes:
                extra += " noprefixroute"
            lines.append(f"addr add {addr} dev {name}{extra}")
    own = [r for r in host.main_table if r.proto != "kernel"]
    own.sort(key=lambda r: (r.gateway is not None and not r.onlink, r.sort_key()))
    lines += [f"route add {route.format()}" for route in own]  # `ip route show` syntax is `ip route add`'s
    for entry in host.neighbours:
        if entry.state is NeighbourState.PERMANENT:
            lines.append(f"neigh replace {entry.ip} lladdr {entry.mac} dev {entry.dev} nud permanent")
    netns.ip_batch(ns, lines, what=f"{host.name}: addresses, routes and neighbours")
    fdb = [f"fdb append {mac} dev {dev} dst {ip}" for dev, table in sorted(host.vxlan_fdbs.items())
           for mac, ip in table.entries()]
    netns.ip_batch(ns, fdb, tool="bridge", what=f"{host.name}: vxlan FDB")
    netns.sysctl(ns, "net/ipv4/ip_forward", int(host.forwarding))
    netns.sysctl(ns, "net/bridge/bridge-nf-call-iptables", int(host.bridge_nf_call_iptables))
    for name, iface in ifaces:
        if iface.proxy_arp:
            netns.sysctl(ns, f"net/ipv4/conf/{name}/proxy_arp", 1)
            netns.sysctl(ns, f"net/ipv4/neigh/{name}/proxy_delay", 0)


READY_TIMEOUT = 10.0  # seconds; carrier changes reach operstate through linkwatch, up to a second late


def _not_ready(ns: str) -> list[str]:
    """The links of `ns` not yet passing frames: veths whose operstate is not UP, bridge ports not forwarding."""
    links = json.loads(netns.run(["ip", "-n", ns, "-d", "-j", "link", "show"]) or "[]")
    ports = json.loads(netns.run(["bridge", "-n", ns, "-j", "link", "show"]) or "[]")
    waiting = [f"{link['ifname']} {link.get('operstate')}" for link in links
               if link.get("linkinfo", {}).get("info_kind") == "veth" and link.get("operstate") != "UP"]
    waiting += [f"{p['ifname']} {p.get('state')}" for p in ports if p.get("state") != "forwarding"]
    return waiting


def wait_ready(world: World) -> None:
    """Wait until every veth is up at both ends and every bridge port forwards (observed, not slept)."""
    deadline = time.monotonic() + READY_TIMEOUT
    pending = sorted([*world.namespaces.values(), *world.segments.values()])
    while pending:
        pending = [ns for ns in pending if _not_ready(ns)]
        if pending and time.monotonic() > deadline:
            raise LiveError(f"links still not ready after {READY_TIMEOUT:.0f} s: "
                            + "; ".join(f"{ns}: {', '.join(_not_ready(ns))}" for ns in pending))
        if pending:
            time.sleep(0.02)  # poll interval between observations of the links' state
