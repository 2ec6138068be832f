"""NAT bindings on conntrack entries and the per-packet rewrite they imply (nf_nat_core.c).

A binding is chosen once per connection and manip type: DST (DNAT/REDIRECT, at
PREROUTING or OUTPUT) and SRC (SNAT/MASQUERADE, at POSTROUTING or INPUT). It is
stored by rewriting the entry's reply tuple; every later packet of the flow,
in either direction, is rewritten from the two tuples by `translate`. When no
rule picks a source binding, the "null binding" still makes the reply tuple
unique (the kernel's implicit source-port clash resolution).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from netsim.netfilter.conntrack import ConntrackEntry, ConntrackTable, invert, is_icmp_error
from netsim.packet.record import IPAddress, Packet, Proto


class Manip(enum.Enum):
    """Which half of the tuple a NAT hook rewrites."""

    SRC = "SRC"  # SNAT/MASQUERADE; runs at POSTROUTING and INPUT
    DST = "DST"  # DNAT/REDIRECT; runs at PREROUTING and OUTPUT


_PORTED = (Proto.TCP, Proto.UDP, Proto.SCTP)


@dataclass(frozen=True, slots=True)
class NatRange:
    """`ADDR[-ADDR][:PORT[-PORT]]` from --to-destination/--to-source/--to-ports."""

    min_addr: IPAddress | None
    max_addr: IPAddress | None
    min_port: int | None
    max_port: int | None
    random: bool = False      # --random / --random-fully: always pick a random port
    persistent: bool = False  # --persistent: address chosen from the source only

    @classmethod
    def parse(cls, text: str, *, random: bool = False, persistent: bool = False) -> NatRange:
        """Parse the kernel's range syntax (IPv6 addresses in brackets when a port follows)."""
        addr_part, port_part = text, ""
        if text.startswith("["):
            close = text.index("]")
            addr_part, rest = text[1:close], text[close + 1:]
            port_part = rest[1:] if rest.startswith(":") else ""
        elif text.count(":") == 1 or (text.startswith(":")):
            addr_part, _, port_part = text.partition(":")
        lo_a = hi_a = None
        if addr_part:
            lo, _, hi = addr_part.partition("-")
            lo_a = ipaddress.ip_address(lo)
            hi_a = ipaddress.ip_address(hi) if hi else lo_a
        lo_p = hi_p = None
        if port_part:
            lo, _, hi = port_part.partition("-")
            lo_p = int(lo)
            hi_p = int(hi) if hi else lo_p
        return cls(lo_a, hi_a, lo_p, hi_p, random, persistent)

    @classmethod
    def ports(cls, text: str | None, *, random: bool = False) -> NatRange:
        """A ports-only range (MASQUERADE/REDIRECT --to-ports)."""
        if not text:
            return cls(None, None, None, None, random)
        lo, _, hi = text.partition("-")
        return cls(None, None, int(lo), int(hi) if hi else int(lo), random)


def _pick_address(rng: NatRange, src: IPAddress, dst: IPAddress) -> IPAddress | None:
    """An address from the range; spread deterministically over (src, dst) like find_best_ips_proto."""
    if rng.min_addr is None:
        return None
    lo, hi = int(rng.min_addr), int(rng.max_addr)
    if lo == hi:
        return rng.min_addr
    key = int(src) if rng.persistent else int(src) + int(dst)
    return ipaddress.ip_address(lo + key % (hi - lo + 1))


def _default_port_range(port: int, proto: int) -> tuple[int, int]:
    """The kernel's range when none is given: keep privileged ports privileged (nf_nat_l4proto_unique_tuple)."""
    if proto in (Proto.ICMP, Proto.ICMPV6):
        return 0, 65535
    if port < 512:
        return 1, 511
    if port < 1024:
        return 600, 1023
    return 1024, 65535


def bind(
    entry: ConntrackEntry,
    table: ConntrackTable,
    manip: Manip,
    nat_range: NatRange | None,
    generator,
    *,
    address: IPAddress | None = None,
) -> bool:
    """Choose the binding for one manip type and store it in entry.reply; False if no tuple is free.

    `nat_range` None is the null binding. `address` overrides the range's
    address (MASQUERADE's interface address, REDIRECT's local address).
    """
    cur = invert(entry.reply)  # the original-direction tuple after any earlier manip
    proto, src, sport, dst, dport = cur
    ported = proto in _PORTED or proto in (Proto.ICMP, Proto.ICMPV6)
    if manip is Manip.SRC:
        new_addr = address or (nat_range and _pick_address(nat_range, src, dst)) or src
        key_port = sport
    else:
        new_addr = address or (nat_range and _pick_address(nat_range, src, dst)) or dst
        key_port = dport

    def make(port: int) -> tuple:
        if proto in (Proto.ICMP, Proto.ICMPV6):
            return (proto, new_addr if manip is Manip.SRC else src, port, new_addr if manip is Manip.DST else dst, port)
        if manip is Manip.SRC:
            return (proto, new_addr, port, dst, dport)
        return (proto, src, sport, new_addr, port)

    def free(t: tuple) -> bool:
        return not table.tuple_in_use(invert(t), exclude=entry)

    specified = nat_range is not None and nat_range.min_port is not None and ported
    random = nat_range is not None and nat_range.random
    lo, hi = (nat_range.min_port, nat_range.max_port) if specified else _default_port_range(key_port, proto)
    chosen = None
    if not random and (not specified or lo <= key_port <= hi) and free(make(key_port)):
        chosen = make(key_port)
    elif ported and (manip is Manip.SRC or specified):
        size = hi - lo + 1
        offset = int(generator.integers(0, size)) if (manip is Manip.SRC or random) else 0
        for i in range(size):
            candidate = make(lo + (offset + i) % size)
            if free(candidate):
                chosen = candidate
                break
    if chosen is None and manip is Manip.DST and not specified:
        chosen = make(key_port)  # a destination binding keeps its tuple; a clash shows at confirm
    if chosen is None:
        return False
    entry.reply = invert(chosen)
    if manip is Manip.SRC:
        entry.src_nat_done = True
        entry.src_nat = entry.src_nat or chosen[1] != cur[1] or chosen[2] != cur[2]
    else:
        entry.dst_nat_done = True
        entry.dst_nat = entry.dst_nat or chosen[3] != cur[3] or chosen[4] != cur[4]
    return True


def _set(packet: Packet, manip: Manip, addr: IPAddress, port: int) -> None:
    if manip is Manip.SRC:
        packet.src = addr
        if packet.proto in _PORTED:
            packet.sport = port
        elif packet.proto in (Proto.ICMP, Proto.ICMPV6) and packet.inner is None:
            packet.icmp_id = port
    else:
        packet.dst = addr
        if packet.proto in _PORTED:
            packet.dport = port
        elif packet.proto in (Proto.ICMP, Proto.ICMPV6) and packet.inner is None:
            packet.icmp_id = port


def translate(packet: Packet, entry: ConntrackEntry, is_reply: bool, manip: Manip) -> bool:
    """Rewrite one packet of a tracked flow for this manip type (nf_nat_packet); True if it changed."""
    wanted_src = manip is Manip.SRC
    if is_reply:
        wanted_src = not wanted_src
    if not (entry.src_nat if wanted_src else entry.dst_nat):
        return False
    other = entry.orig if is_reply else entry.reply
    target = invert(other)
    if is_icmp_error(packet):
        inner = packet.inner
        inner_manip = Manip.DST if manip is Manip.SRC else Manip.SRC
        if inner_manip is Manip.SRC:
            _set(inner, inner_manip, other[1], other[2])
        else:
            _set(inner, inner_manip, other[3], other[4])
    if manip is Manip.SRC:
        _set(packet, manip, target[1], target[2])
    else:
        _set(packet, manip, target[3], target[4])
    return True
