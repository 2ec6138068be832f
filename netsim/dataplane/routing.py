"""Routes and routing tables: longest-prefix match, metrics, and `ip route show` text.

A host has two tables, as Linux does without policy rules: `local` (the
kernel's addresses and broadcasts, looked up first: rule 0) and `main` (rule
32766). `RoutingTable.lookup` picks the longest matching prefix, then the
lowest metric. `Route.format()` prints exactly what iproute2's `print_route`
prints, field order: type (unless unicast), destination (`default` for /0,
no `/32` for host routes), `via`, `dev`, `proto` (unless boot), `scope`
(unless global), `src`, `metric` (unless 0), `onlink`.
`RoutingTable.show()` orders routes as the kernel's fib trie dumps them: by
destination address, the longer prefix first, then by metric.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network


class RouteType(enum.Enum):
    """rtm_type: what a matching route does with the packet."""

    UNICAST = "unicast"          # forward to a gateway or a directly connected destination
    LOCAL = "local"              # the destination is one of this host's addresses
    BROADCAST = "broadcast"      # a subnet broadcast address of this host: delivered locally
    UNREACHABLE = "unreachable"  # drop; forwarded packets get ICMP host unreachable
    PROHIBIT = "prohibit"        # drop; forwarded packets get ICMP communication administratively prohibited
    BLACKHOLE = "blackhole"      # drop silently


class RouteScope(enum.Enum):
    """rtm_scope: how far the destination is (the names `ip route` prints)."""

    UNIVERSE = "global"  # via a gateway (printed by omission)
    LINK = "link"        # directly on the link
    HOST = "host"        # on this host


@dataclass(frozen=True, slots=True)
class Route:
    """One route: destination prefix, next hop (gateway and/or device), and its attributes."""

    dst: IPv4Network
    dev: str | None = None
    gateway: IPv4Address | None = None
    type: RouteType = RouteType.UNICAST
    scope: RouteScope = RouteScope.UNIVERSE
    proto: str = "boot"          # "kernel" for routes the kernel adds, "boot" for `ip route add`, "static", ...
    src: IPv4Address | None = None
    metric: int = 0
    table: str = "main"
    onlink: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "dst", ip_network(self.dst))
        if self.gateway is not None:
            object.__setattr__(self, "gateway", ip_address(self.gateway))
        if self.src is not None:
            object.__setattr__(self, "src", ip_address(self.src))

    def format(self) -> str:
        """The route as one line of `ip route show` (no trailing space)."""
        parts: list[str] = []
        if self.type is not RouteType.UNICAST:
            parts.append(self.type.value)
        if self.dst.prefixlen == 0:
            parts.append("default")
        elif self.dst.prefixlen == self.dst.max_prefixlen:
            parts.append(str(self.dst.network_address))
        else:
            parts.append(str(self.dst))
        if self.gateway is not None:
            parts += ["via", str(self.gateway)]
        if self.dev is not None:
            parts += ["dev", self.dev]
        if self.proto != "boot":
            parts += ["proto", self.proto]
        if self.scope is not RouteScope.UNIVERSE:
            parts += ["scope", self.scope.value]
        if self.src is not None:
            parts += ["src", str(self.src)]
        if self.metric:
            parts += ["metric", str(self.metric)]
        if self.onlink:
            parts.append("onlink")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.format()

    def sort_key(self) -> tuple:
        """The kernel's dump order: address, longer prefix first, metric."""
        return (int(self.dst.network_address), -self.dst.prefixlen, self.metric)


class RoutingTable:
    """One routing table; routes change only through `add` and `delete`."""

    __slots__ = ("name", "_routes")

    def __init__(self, name: str = "main") -> None:
        self.name = name
        self._routes: list[Route] = []

    def __iter__(self):
        return iter(sorted(self._routes, key=Route.sort_key))

    def __len__(self) -> int:
        return len(self._routes)

    def find(self, dst: IPv4Network, metric: int | None = None) -> list[Route]:
        """The routes for exactly `dst` (and `metric`, when given)."""
        return [r for r in self._routes if r.dst == dst and (metric is None or r.metric == metric)]

    def add(self, route: Route) -> bool:
        """Add `route`; False (nothing changed) when one with the same prefix and metric exists."""
        if self.find(route.dst, route.metric):
            return False
        self._routes.append(route)
        return True

    def delete(self, route: Route) -> bool:
        """Remove `route`; False when it is not there."""
        try:
            self._routes.remove(route)
        except ValueError:
            return False
        return True

    def remove_where(self, predicate) -> list[Route]:
        """Remove and return the routes for which `predicate(route)` holds."""
        gone = [r for r in self._routes if predicate(r)]
        self._routes = [r for r in self._routes if not predicate(r)]
        return gone

    def lookup(self, dst: IPv4Address) -> Route | None:
        """The route for `dst`: longest prefix, then lowest metric; None when nothing matches."""
        best: Route | None = None
        for route in self._routes:
            if dst.version != route.dst.version or dst not in route.dst:
                continue
            if best is None or (route.dst.prefixlen, -route.metric) > (best.dst.prefixlen, -best.metric):
                best = route
        return best

    def show(self) -> str:
        """The table as `ip route show table NAME` prints it, one route a line."""
        return "".join(route.format() + "\n" for route in self)
