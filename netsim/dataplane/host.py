"""A host: one network namespace with its interfaces, routing tables, ARP cache, bridges and sockets.

`Host` is a runtime object; it changes only through its methods, which check
their input the way iproute2 and the kernel do and raise a `ConfigError`
subclass on bad configuration (nothing is changed when they raise). Every
host starts with `lo` addressed 127.0.0.1/8. Adding an address adds
the kernel's routes for it (`fib_add_ifaddr`): a `local` route in the local
table, the prefix route `proto kernel scope link src ADDR` in main (not for
/32), and the subnet broadcast (prefixes up to /30). Forwarding is off by
default (net.ipv4.ip_forward=0); `bridge_nf_call_iptables` (br_netfilter's
sysctl, which Kubernetes needs) is on by default.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address, ip_interface, ip_network

from netsim.netfilter.hooks import HookRunner
from netsim.packet.mac import normalize_mac

from netsim.dataplane.apps import App
from netsim.dataplane.bridge import BridgeFdb, VxlanFdb
from netsim.dataplane.errors import (AddressError, DuplicateBinding, DuplicateInterface, GatewayUnreachable,
                                     InterfaceKindError, NoSuchRoute, RouteExists, UnknownInterface)
from netsim.dataplane.interfaces import Interface, InterfaceKind, VxlanConfig
from netsim.dataplane.neighbours import NeighbourTable
from netsim.dataplane.routing import Route, RouteScope, RouteType, RoutingTable

_NO_DEVICE_TYPES = (RouteType.UNREACHABLE, RouteType.PROHIBIT, RouteType.BLACKHOLE)


class Host:
    """One network namespace: interfaces, routes, neighbours, bridges, vxlan FDBs, bound applications."""

    def __init__(self, name: str, *, forwarding: bool = False, netfilter: HookRunner | None = None,
                 bridge_nf_call_iptables: bool = True) -> None:
        self.name = name
        self.forwarding = forwarding
        self.netfilter = netfilter
        self.bridge_nf_call_iptables = bridge_nf_call_iptables
        self.interfaces: dict[str, Interface] = {}
        self.local_table = RoutingTable("local")
        self.main_table = RoutingTable("main")
        self.neighbours = NeighbourTable()
        self.bridges: dict[str, BridgeFdb] = {}
        self.vxlan_fdbs: dict[str, VxlanFdb] = {}
        self._apps: dict[tuple[int, IPv4Address | None, int], App] = {}
        self.arp_announcements: dict[str, frozenset[IPv4Address]] = {}  # iface -> addresses a responder answers
        self._local_addresses: frozenset[IPv4Address] = frozenset()
        self.add_interface("lo", InterfaceKind.LO)
        self.add_address("lo", "127.0.0.1/8")

    def __repr__(self) -> str:
        return f"Host({self.name!r})"

    # --- settings -----------------------------------------------------------------

    def set_forwarding(self, enabled: bool) -> None:
        """sysctl net.ipv4.ip_forward."""
        self.forwarding = enabled

    def set_netfilter(self, runner: HookRunner | None) -> None:
        """Install the host's netfilter (None: no hooks run at all)."""
        self.netfilter = runner

    # --- interfaces ---------------------------------------------------------------

    def interface(self, name: str) -> Interface:
        """The interface called `name`; raises `UnknownInterface`."""
        try:
            return self.interfaces[name]
        except KeyError:
            raise UnknownInterface(self.name, f"no interface {name!r}") from None

    def add_interface(self, name: str, kind: InterfaceKind = InterfaceKind.ETH, *, mac: str | None = None,
                      mtu: int | None = None) -> Interface:
        """`ip link add NAME type KIND` (interfaces are always up: link state is not emulated)."""
        if name in self.interfaces:
            raise DuplicateInterface(self.name, f"interface {name!r} already exists")
        if not name or len(name) > 15 or "/" in name or " " in name:
            raise InterfaceKindError(self.name, f"invalid interface name {name!r} (1-15 characters, no '/' or space)")
        if kind is InterfaceKind.LO and name != "lo":
            raise InterfaceKindError(self.name, f"the loopback interface must be called 'lo', got {name!r}")
        iface = Interface(self.name, name, kind, mac=normalize_mac(mac) if mac else None, mtu=mtu)
        self.interfaces[name] = iface
        if kind is InterfaceKind.BRIDGE:
            self.bridges[name] = BridgeFdb(name)
        return iface

    def add_bridge(self, name: str, *, mac: str | None = None, mtu: int | None = None) -> Interface:
        """`ip link add NAME type bridge`."""
        return self.add_interface(name, InterfaceKind.BRIDGE, mac=mac, mtu=mtu)

    def add_vxlan(self, name: str, *, vni: int, local: IPv4Address | str, dstport: int = 4789,
                  dev: str | None = None, mtu: int | None = None, mac: str | None = None,
                  learning: bool = False) -> Interface:
        """`ip link add NAME type vxlan id VNI local IP dstport PORT [dev DEV] [nolearning]`."""
        if not 0 <= vni < 1 << 24:
            raise InterfaceKindError(self.name, f"vxlan {name}: VNI must be 0..16777215, got {vni}")
        if dev is not None:
            self.interface(dev)
        iface = self.add_interface(name, InterfaceKind.VXLAN, mac=mac, mtu=mtu)
        iface.vxlan = VxlanConfig(vni, IPv4Address(local), dstport, dev, learning)
        self.vxlan_fdbs[name] = VxlanFdb(name)
        return iface

    def set_master(self, port: str, bridge: str, *, hairpin: bool = False) -> None:
        """`ip link set PORT master BRIDGE` (and `bridge link set dev PORT hairpin on`)."""
        port_iface = self.interface(port)
        bridge_iface = self.interface(bridge)
        if bridge_iface.kind is not InterfaceKind.BRIDGE:
            raise InterfaceKindError(self.name, f"{bridge} is not a bridge")
        if port_iface.kind in (InterfaceKind.LO, InterfaceKind.BRIDGE):
            raise InterfaceKindError(self.name, f"{port} ({port_iface.kind.value}) cannot be a bridge port")
        if port_iface.master is not None and port_iface.master != bridge:
            self.bridges[port_iface.master].forget_port(port)
        port_iface.master = bridge
        port_iface.hairpin = hairpin

    def set_mtu(self, iface: str, mtu: int) -> None:
        """`ip link set IFACE mtu MTU` (68 is IPv4's minimum)."""
        dev = self.interface(iface)
        if not 68 <= mtu <= 65536:
            raise InterfaceKindError(self.name, f"{iface}: MTU must be between 68 and 65536, got {mtu}")
        dev.mtu = mtu

    def set_proxy_arp(self, iface: str, enabled: bool = True) -> None:
        """sysctl net.ipv4.conf.IFACE.proxy_arp: answer ARP for addresses routed out of other interfaces."""
        self.interface(iface).proxy_arp = enabled

    def ports(self, bridge: str) -> list[Interface]:
        """The ports of `bridge`, sorted by name."""
        return [i for _, i in sorted(self.interfaces.items()) if i.master == bridge]

    # --- addresses ------------------------------------------------------------------

    def add_address(self, iface: str, address: IPv4Interface | str) -> IPv4Interface:
        """`ip addr add ADDRESS/PLEN dev IFACE`, with the kernel's local, prefix and broadcast routes."""
        dev = self.interface(iface)
        addr = ip_interface(address)
        if addr.version != 4:
            raise AddressError(self.name, f"{iface}: only IPv4 addresses are emulated, got {addr}")
        if any(a.ip == addr.ip for a in dev.addresses):
            raise AddressError(self.name, f"{iface}: address {addr} already present (RTNETLINK answers: File exists)")
        dev.addresses.append(addr)
        self._local_addresses = self._local_addresses | {addr.ip}
        src = addr.ip
        net = addr.network
        kernel = dict(dev=iface, proto="kernel", src=src, table="local")
        if dev.kind is InterfaceKind.LO:
            self.local_table.add(Route(net, type=RouteType.LOCAL, scope=RouteScope.HOST, **kernel))
        self.local_table.add(Route(ip_network(f"{src}/32"), type=RouteType.LOCAL, scope=RouteScope.HOST, **kernel))
        if net.prefixlen <= 30:
            self.local_table.add(Route(ip_network(f"{net.broadcast_address}/32"), type=RouteType.BROADCAST,
                                       scope=RouteScope.LINK, **kernel))
        if dev.kind is not InterfaceKind.LO and net.prefixlen < 32:
            self.main_table.add(Route(net, dev=iface, proto="kernel", scope=RouteScope.LINK, src=src))
        return addr

    def interface_addresses(self, iface: str | None) -> tuple[IPv4Address, ...]:
        """The addresses of `iface`, primary first; () for None or an unknown name (for MASQUERADE, REDIRECT)."""
        dev = self.interfaces.get(iface) if iface is not None else None
        return tuple(a.ip for a in dev.addresses) if dev is not None else ()

    def local_addresses(self) -> frozenset[IPv4Address]:
        """Every address configured on the host (what `-m addrtype --dst-type LOCAL` matches)."""
        return self._local_addresses

    def is_local(self, ip: IPv4Address) -> bool:
        """True when `ip` is routed to this host (a `local` or `broadcast` route in the local table)."""
        route = self.local_table.lookup(ip)
        return route is not None and route.type in (RouteType.LOCAL, RouteType.BROADCAST)

    def source_address(self, route: Route, dst: IPv4Address) -> IPv4Address | None:
        """The source the kernel picks for a packet to `dst` leaving by `route` (`inet_select_addr`)."""
        if route.src is not None:
            return route.src
        if route.type is RouteType.LOCAL:
            return dst
        target = route.gateway or dst
        dev = self.interfaces.get(route.dev) if route.dev else None
        if dev is not None:
            for addr in dev.addresses:
                if target in addr.network:
                    return addr.ip
            if dev.addresses:
                return dev.addresses[0].ip
        for _, other in sorted(self.interfaces.items()):
            if other.kind is not InterfaceKind.LO and other.addresses:
                return other.addresses[0].ip
        return None

    # --- routes ---------------------------------------------------------------------

    def add_route(self, dst: IPv4Network | str, *, via: IPv4Address | str | None = None, dev: str | None = None,
                  metric: int = 0, src: IPv4Address | str | None = None, proto: str = "boot",
                  scope: RouteScope | None = None, type: RouteType = RouteType.UNICAST,
                  onlink: bool = False) -> Route:
        """`ip route add DST [via GW] [dev DEV] [metric N] [src IP] [proto P] [scope S] [onlink]`."""
        net = ip_network("0.0.0.0/0" if dst == "default" else dst)
        gateway = ip_address(via) if via is not None else None
        prefsrc = ip_address(src) if src is not None else None
        if dev is not None:
            self.interface(dev)
        if type in _NO_DEVICE_TYPES:
            if gateway is not None or dev is not None:
                raise GatewayUnreachable(self.name, f"{type.value} route {net} takes no gateway or device")
        elif gateway is not None and not onlink:
            connected = self.main_table.lookup(gateway)
            if (connected is None or connected.gateway is not None or connected.type is not RouteType.UNICAST
                    or (dev is not None and connected.dev != dev) or gateway in self._local_addresses):
                raise GatewayUnreachable(
                    self.name, f"route {net} via {gateway}: Nexthop has invalid gateway "
                    f"(not on a directly connected network{' of ' + dev if dev else ''})")
            dev = connected.dev
        elif gateway is not None and dev is None:
            raise GatewayUnreachable(self.name, f"route {net} via {gateway} onlink: a device is required")
        elif gateway is None and dev is None:
            raise GatewayUnreachable(self.name, f"route {net}: needs a gateway or a device")
        if prefsrc is not None and prefsrc not in self._local_addresses:
            raise AddressError(self.name, f"route {net} src {prefsrc}: not a local address (Invalid prefsrc address)")
        if scope is None:
            scope = RouteScope.LINK if gateway is None and type is RouteType.UNICAST else RouteScope.UNIVERSE
        route = Route(net, dev=dev, gateway=gateway, type=type, scope=scope, proto=proto, src=prefsrc,
                      metric=metric, onlink=onlink)
        if not self.main_table.add(route):
            raise RouteExists(self.name, f"route {net} metric {metric} already exists (RTNETLINK answers: File exists)")
        return route

    def delete_route(self, dst: IPv4Network | str, *, metric: int | None = None) -> Route:
        """`ip route del DST [metric N]`: removes the first matching route."""
        net = ip_network("0.0.0.0/0" if dst == "default" else dst)
        found = self.main_table.find(net, metric)
        if not found:
            raise NoSuchRoute(self.name, f"no route {net} to delete (RTNETLINK answers: No such process)")
        self.main_table.delete(found[0])
        return found[0]

    def route_lookup(self, dst: IPv4Address) -> Route | None:
        """The route for `dst`: the local table first (rule 0), then main (rule 32766)."""
        return self.local_table.lookup(dst) or self.main_table.lookup(dst)

    def addr_show(self) -> str:
        """`ip -d addr show`, the essentials: index, name, flags, MTU, master, link, vxlan details, addresses."""
        lines = []
        for index, dev in enumerate(self.interfaces.values(), start=1):
            loopback = dev.kind is InterfaceKind.LO
            flags = "LOOPBACK,UP,LOWER_UP" if loopback else "BROADCAST,MULTICAST,UP,LOWER_UP"
            master = f" master {dev.master}" if dev.master else ""
            lines.append(f"{index}: {dev.name}: <{flags}> mtu {dev.mtu}{master} state "
                         f"{'UNKNOWN' if loopback or dev.kind is InterfaceKind.VXLAN else 'UP'}")
            kind, brd = ("loopback", "00:00:00:00:00:00") if loopback else ("ether", "ff:ff:ff:ff:ff:ff")
            lines.append(f"    link/{kind} {dev.mac} brd {brd}")
            if dev.kind is InterfaceKind.VETH or dev.kind is InterfaceKind.BRIDGE:
                lines.append(f"    {dev.kind.value}")
            if dev.vxlan is not None:
                v = dev.vxlan
                lines.append(f"    vxlan id {v.vni} local {v.local}{' dev ' + v.dev if v.dev else ''} "
                             f"dstport {v.dstport}{'' if v.learning else ' nolearning'}")
            for addr in dev.addresses:
                scope = "host" if addr.ip.is_loopback else "global"
                brd = f" brd {addr.network.broadcast_address}" if addr.network.prefixlen <= 30 and not loopback else ""
                lines.append(f"    inet {addr.with_prefixlen}{brd} scope {scope} {dev.name}")
        return "".join(line + "\n" for line in lines)

    def route_show(self, table: str = "main") -> str:
        """`ip route show [table local]`."""
        return (self.local_table if table == "local" else self.main_table).show()

    # --- neighbours and FDBs ----------------------------------------------------------

    def add_neighbour(self, ip: IPv4Address | str, mac: str, dev: str) -> None:
        """`ip neigh replace IP lladdr MAC dev DEV nud permanent`."""
        self.interface(dev)
        self.neighbours.add_permanent(dev, IPv4Address(ip), normalize_mac(mac))

    def fdb_append(self, dev: str, mac: str, dst: IPv4Address | str) -> None:
        """`bridge fdb append MAC dev DEV dst IP` on a vxlan device."""
        if self.interface(dev).kind is not InterfaceKind.VXLAN:
            raise InterfaceKindError(self.name, f"{dev} is not a vxlan device")
        self.vxlan_fdbs[dev].append(normalize_mac(mac), IPv4Address(dst))

    def fdb_delete(self, dev: str, mac: str) -> None:
        """`bridge fdb del MAC dev DEV` on a vxlan device (every remote of that MAC)."""
        if self.interface(dev).kind is not InterfaceKind.VXLAN:
            raise InterfaceKindError(self.name, f"{dev} is not a vxlan device")
        self.vxlan_fdbs[dev].delete(normalize_mac(mac))

    def announce_arp(self, iface: str, ip: IPv4Address | str) -> None:
        """A user-space responder answers ARP requests for `ip` on `iface` without the address being local.

        What MetalLB's layer-2 speaker, keepalived or `arping -U` do from a raw
        socket: the kernel's own ARP (and proxy ARP, which needs a route out of
        another interface) would not answer for an address that is not configured.
        """
        dev = self.interface(iface)
        if dev.kind in (InterfaceKind.LO, InterfaceKind.VXLAN):
            raise InterfaceKindError(self.name, f"{iface} ({dev.kind.value}) does not carry ARP announcements")
        self.arp_announcements[iface] = self.arp_announcements.get(iface, frozenset()) | {IPv4Address(ip)}

    def neigh_show(self) -> str:
        """`ip neigh show`."""
        return self.neighbours.show()

    # --- applications -------------------------------------------------------------------

    def bind(self, app: App, proto: int, port: int, address: IPv4Address | str | None = None) -> None:
        """Attach `app` to (proto, address or any, port)."""
        addr = IPv4Address(address) if address is not None else None
        key = (int(proto), addr, port)
        if key in self._apps:
            raise DuplicateBinding(self.name, f"{proto}/{address or '*'}:{port} is already bound (EADDRINUSE)")
        self._apps[key] = app

    def unbind(self, proto: int, port: int, address: IPv4Address | str | None = None) -> None:
        """Detach whatever is bound to (proto, address or any, port)."""
        addr = IPv4Address(address) if address is not None else None
        self._apps.pop((int(proto), addr, port), None)

    def bindings(self) -> list[tuple[int, IPv4Address | None, int, App]]:
        """Every (proto, address or None for any, port, app) bound on the host, sorted."""
        return [(proto, addr, port, app) for (proto, addr, port), app in
                sorted(self._apps.items(), key=lambda kv: (kv[0][0], int(kv[0][1] or 0), kv[0][2]))]

    def app_for(self, proto: int, address: IPv4Address, port: int) -> App | None:
        """The application bound to (proto, address, port), or to (proto, any, port)."""
        return self._apps.get((int(proto), address, port)) or self._apps.get((int(proto), None, port))
