"""The neighbour (ARP) table of a host, and its `ip neigh show` text.

Entries are keyed by (device, IP). Resolution is implicit but visible: the
walk sends a real ARP request when an entry is missing and fills the table
from the reply (see walk.py), so captures show the ARP exchange. ARP frames
nobody asked for (a gratuitous ARP) only update entries that exist. Static
entries (`ip neigh add ... lladdr ... nud permanent`, as flannel writes for
its vxlan device) are PERMANENT. `show()` sorts by address then device (the
kernel prints in hash order, which is not reproducible).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address


class NeighbourState(enum.Enum):
    """NUD states netsim uses (the words `ip neigh` prints)."""

    PERMANENT = "PERMANENT"  # added by hand, never expires
    REACHABLE = "REACHABLE"  # learned from ARP
    STALE = "STALE"          # changed by an ARP frame we did not ask for (a gratuitous one): usable, unconfirmed
    FAILED = "FAILED"        # resolution was tried and nobody answered


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One neighbour entry: who has `ip` on `dev` (mac is None when FAILED)."""

    ip: IPv4Address
    dev: str
    mac: str | None
    state: NeighbourState

    def format(self) -> str:
        """One line of `ip neigh show`."""
        if self.mac is None:
            return f"{self.ip} dev {self.dev} {self.state.value}"
        return f"{self.ip} dev {self.dev} lladdr {self.mac} {self.state.value}"


class NeighbourTable:
    """A host's ARP cache; entries change only through `learn`, `add_permanent`, `fail`, `flush`."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[str, IPv4Address], Neighbour] = {}

    def __iter__(self):
        return iter(sorted(self._entries.values(), key=lambda n: (int(n.ip), n.dev)))

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, dev: str, ip: IPv4Address) -> Neighbour | None:
        """The entry for `ip` on `dev`, or None."""
        return self._entries.get((dev, ip))

    def resolve(self, dev: str, ip: IPv4Address) -> str | None:
        """The MAC of `ip` on `dev` when known (PERMANENT or REACHABLE), else None."""
        entry = self._entries.get((dev, ip))
        return entry.mac if entry is not None else None

    def add_permanent(self, dev: str, ip: IPv4Address, mac: str) -> None:
        """`ip neigh replace IP lladdr MAC dev DEV nud permanent`."""
        self._entries[(dev, ip)] = Neighbour(ip, dev, mac, NeighbourState.PERMANENT)

    def learn(self, dev: str, ip: IPv4Address, mac: str) -> None:
        """Record what ARP told us; a PERMANENT entry is left alone, as the kernel does."""
        entry = self._entries.get((dev, ip))
        if entry is not None and entry.state is NeighbourState.PERMANENT:
            return
        self._entries[(dev, ip)] = Neighbour(ip, dev, mac, NeighbourState.REACHABLE)

    def update_existing(self, dev: str, ip: IPv4Address, mac: str) -> bool:
        """An unsolicited ARP frame from `ip` (arp_process with arp_accept=0): only an existing entry changes.

        As `neigh_update` with NEIGH_UPDATE_F_OVERRIDE (a gratuitous ARP overrides;
        any other frame does once the entry is older than locktime, 1 s, which
        netsim takes as given) and the new state STALE (the frame was not a unicast reply to us): a new
        MAC replaces the old one and the entry turns STALE; the same MAC leaves a
        valid entry as it was; PERMANENT entries are never touched; nothing is
        created. Returns whether the entry changed.
        """
        entry = self._entries.get((dev, ip))
        if entry is None or entry.state is NeighbourState.PERMANENT or entry.mac == mac:
            return False
        self._entries[(dev, ip)] = Neighbour(ip, dev, mac, NeighbourState.STALE)
        return True

    def restore(self, entry: Neighbour) -> None:
        """Put an entry back as it was (a host rebuilt with its cache kept); PERMANENT ones are the builder's."""
        if entry.state is not NeighbourState.PERMANENT:
            self._entries[(entry.dev, entry.ip)] = entry

    def fail(self, dev: str, ip: IPv4Address) -> None:
        """Mark `ip` on `dev` FAILED (nobody answered the ARP request)."""
        self._entries[(dev, ip)] = Neighbour(ip, dev, None, NeighbourState.FAILED)

    def flush(self, dev: str | None = None) -> None:
        """Drop every non-permanent entry (on `dev` only, when given)."""
        self._entries = {k: v for k, v in self._entries.items()
                         if v.state is NeighbourState.PERMANENT or (dev is not None and k[0] != dev)}

    def show(self) -> str:
        """The table as `ip neigh show` prints it."""
        return "".join(entry.format() + "\n" for entry in self)
