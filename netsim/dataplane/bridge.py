"""Forwarding databases: a Linux bridge's learning FDB and a vxlan device's remote FDB.

`BridgeFdb` maps a MAC to the port it was last seen on (learned from the
source MAC of every frame entering a port); the bridge's own MAC is local.
Ageing is not emulated: learned entries stay. `VxlanFdb` maps an inner MAC to
the remote VTEP IP (`bridge fdb append MAC dev flannel.1 dst IP`); the
all-zeros MAC entries are the default destinations, where unknown and
broadcast frames are flooded.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from netsim.packet.mac import ZERO


class BridgeFdb:
    """A bridge's MAC → port table; changes only through `learn` and `forget_port`."""

    __slots__ = ("bridge", "_ports")

    def __init__(self, bridge: str) -> None:
        self.bridge = bridge
        self._ports: dict[str, str] = {}

    def learn(self, mac: str, port: str) -> bool:
        """Record that `mac` is behind `port`; True when the entry is new or moved."""
        if self._ports.get(mac) == port:
            return False
        self._ports[mac] = port
        return True

    def lookup(self, mac: str) -> str | None:
        """The port `mac` was learned on, or None (unknown: flood)."""
        return self._ports.get(mac)

    def forget_port(self, port: str) -> None:
        """Remove every entry learned on `port` (it left the bridge)."""
        self._ports = {m: p for m, p in self._ports.items() if p != port}

    def show(self) -> str:
        """Learned entries as `bridge fdb show br BRIDGE` prints them (sorted by MAC)."""
        return "".join(f"{mac} dev {port} master {self.bridge}\n" for mac, port in sorted(self._ports.items()))


class VxlanFdb:
    """A vxlan device's MAC → remote VTEP table; all-zeros entries are the flood list."""

    __slots__ = ("dev", "_entries")

    def __init__(self, dev: str) -> None:
        self.dev = dev
        self._entries: set[tuple[str, IPv4Address]] = set()

    def append(self, mac: str, dst: IPv4Address) -> None:
        """`bridge fdb append MAC dev DEV dst IP`."""
        self._entries.add((mac, dst))

    def replace(self, mac: str, dst: IPv4Address) -> None:
        """`bridge fdb replace MAC dev DEV dst IP` (one remote for that MAC)."""
        self._entries = {e for e in self._entries if e[0] != mac} | {(mac, dst)}

    def delete(self, mac: str) -> None:
        """`bridge fdb del MAC dev DEV`: forget every remote of `mac`."""
        self._entries = {e for e in self._entries if e[0] != mac}

    def remotes(self, mac: str) -> list[IPv4Address]:
        """Where a frame to `mac` goes: its own entry, else the default (all-zeros) entries, sorted."""
        own = sorted((ip for m, ip in self._entries if m == mac), key=int)
        if own and mac != ZERO:
            return own[:1]
        return sorted((ip for m, ip in self._entries if m == ZERO), key=int)

    def entries(self) -> list[tuple[str, IPv4Address]]:
        """(MAC, remote VTEP) of every entry, sorted as `show` prints them."""
        return sorted(self._entries, key=lambda e: (e[0], int(e[1])))

    def show(self) -> str:
        """The entries as `bridge fdb show dev DEV` prints them."""
        return "".join(f"{mac} dst {ip} self permanent\n"
                       for mac, ip in sorted(self._entries, key=lambda e: (e[0], int(e[1]))))
