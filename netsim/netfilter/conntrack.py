"""Connection tracking: entries keyed by original and reply tuples, TCP states, timeouts, NAT bindings.

Contract: `ConntrackTable(clock)` holds confirmed entries. The engine looks a
packet up with `lookup(packet)` at PREROUTING/OUTPUT, makes an unconfirmed
entry with `new_entry(packet)` when nothing matches, and `confirm(entry)`s it
at POSTROUTING/INPUT (the kernel's __nf_conntrack_confirm). NAT rewrites an
entry's reply tuple before confirmation; later packets are translated from
the two tuples alone. Time only comes from the injected clock; expired
entries disappear on the next lookup or `expire()`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator

from netsim.packet.record import Packet, Proto, TcpFlag

# ICMP types that are errors quoting an inner datagram (may be RELATED), per family.
ICMP_ERROR_TYPES = frozenset({3, 4, 5, 11, 12})
ICMPV6_ERROR_TYPES = frozenset({1, 2, 3, 4})
# ICMP query types that start a connection → the reply type (nf_conntrack_proto_icmp.c invmap).
ICMP_QUERY_REPLY = {8: 0, 13: 14, 15: 16, 17: 18, 0: 8, 14: 13, 16: 15, 18: 17}
ICMPV6_QUERY_REPLY = {128: 129, 129: 128}
ICMP_NEW_TYPES = frozenset({8, 13, 15, 17})
ICMPV6_NEW_TYPES = frozenset({128})


class TcpState(enum.Enum):
    """TCP conntrack states (nf_conntrack_proto_tcp.c), as `conntrack -L` prints them."""

    SYN_SENT = "SYN_SENT"        # SYN seen in the original direction
    SYN_RECV = "SYN_RECV"        # SYN+ACK seen in reply
    ESTABLISHED = "ESTABLISHED"  # three-way handshake done (or picked up mid-stream: tcp_loose=1)
    FIN_WAIT = "FIN_WAIT"        # FIN seen from one side
    CLOSE_WAIT = "CLOSE_WAIT"    # the other side ACKed the FIN
    LAST_ACK = "LAST_ACK"        # FIN seen from both sides, waiting for the last ACK
    TIME_WAIT = "TIME_WAIT"      # both FINs ACKed
    CLOSE = "CLOSE"              # RST seen


# Default timeouts in seconds (net.netfilter.nf_conntrack_*_timeout*, Linux 6.x).
TCP_TIMEOUTS: dict[TcpState, float] = {
    TcpState.SYN_SENT: 120, TcpState.SYN_RECV: 60, TcpState.ESTABLISHED: 432000,
    TcpState.FIN_WAIT: 120, TcpState.CLOSE_WAIT: 60, TcpState.LAST_ACK: 30,
    TcpState.TIME_WAIT: 120, TcpState.CLOSE: 10,
}
UDP_TIMEOUT = 30          # nf_conntrack_udp_timeout: unreplied
UDP_STREAM_TIMEOUT = 120  # nf_conntrack_udp_timeout_stream: seen both ways, alive after 2 s
UDP_STREAM_AFTER = 2      # seconds after the first packet before a replied flow counts as a stream
ICMP_TIMEOUT = 30         # nf_conntrack_icmp_timeout
GENERIC_TIMEOUT = 600     # nf_conntrack_generic_timeout

# Protocol names as `conntrack -L` prints them.
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"}

Tuple = tuple  # (proto, src, sport, dst, dport); ICMP queries use the id for both ports


def packet_tuple(packet: Packet) -> Tuple:
    """The conntrack tuple of a packet (ICMP echo: the id stands in for both ports)."""
    proto = packet.proto
    if proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        return (proto, packet.src, packet.sport, packet.dst, packet.dport)
    if proto in (Proto.ICMP, Proto.ICMPV6):
        return (proto, packet.src, packet.icmp_id, packet.dst, packet.icmp_id)
    return (proto, packet.src, 0, packet.dst, 0)


def invert(t: Tuple) -> Tuple:
    """The tuple of a packet travelling the other way."""
    return (t[0], t[3], t[4], t[1], t[2])


def is_icmp_error(packet: Packet) -> bool:
    """An ICMP/ICMPv6 error quoting an inner datagram."""
    if packet.proto == Proto.ICMP:
        return packet.icmp_type in ICMP_ERROR_TYPES and packet.inner is not None
    if packet.proto == Proto.ICMPV6:
        return packet.icmp_type in ICMPV6_ERROR_TYPES and packet.inner is not None
    return False


class Untracked:
    """The marker `packet.ct` holds after NOTRACK / CT --notrack (ctstate UNTRACKED)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNTRACKED"


UNTRACKED = Untracked()


class ConntrackEntry:
    """One tracked connection: both tuples, protocol state, NAT status, mark and expiry."""

    __slots__ = (
        "id", "orig", "reply", "tcp_state", "seen_reply", "assured", "confirmed",
        "src_nat", "dst_nat", "src_nat_done", "dst_nat_done", "mark", "expires", "table",
        "icmp_type", "icmp_code", "start",
    )

    def __init__(self, entry_id: int, orig: Tuple, table: ConntrackTable) -> None:
        self.id = entry_id
        self.orig = orig
        self.reply = invert(orig)
        self.tcp_state: TcpState | None = None
        self.seen_reply = False
        self.assured = False
        self.confirmed = False
        self.src_nat = False       # IPS_SRC_NAT: the source was rewritten
        self.dst_nat = False       # IPS_DST_NAT: the destination was rewritten
        self.src_nat_done = False  # the nat table ran for the source manip (or null binding)
        self.dst_nat_done = False
        self.mark = 0
        self.expires = 0.0
        self.table = table
        self.icmp_type = 0
        self.icmp_code = 0
        self.start = table.clock()

    def __repr__(self) -> str:
        return f"<ConntrackEntry {self.id} {format_entry(self, self.table.clock())}>"


class ConntrackTable:
    """The confirmed connections of one host (network namespace), on a simulated clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._by_tuple: dict[Tuple, tuple[ConntrackEntry, bool]] = {}
        self._entries: dict[int, ConntrackEntry] = {}
        self._next_id = 1

    def __len__(self) -> int:
        self.expire()
        return len(self._entries)

    def __iter__(self) -> Iterator[ConntrackEntry]:
        self.expire()
        return iter(sorted(self._entries.values(), key=lambda e: e.id))

    def new_entry(self, packet: Packet) -> ConntrackEntry:
        """An unconfirmed entry for a packet that matched nothing (not yet in the table)."""
        entry = ConntrackEntry(self._next_id, packet_tuple(packet), self)
        self._next_id += 1
        if packet.proto in (Proto.ICMP, Proto.ICMPV6):
            entry.icmp_type, entry.icmp_code = packet.icmp_type, packet.icmp_code
        return entry

    def lookup(self, packet: Packet) -> tuple[ConntrackEntry, bool] | None:
        """(entry, is_reply) for the packet's tuple, or None; expired entries are dropped first."""
        return self.lookup_tuple(packet_tuple(packet))

    def lookup_tuple(self, t: Tuple) -> tuple[ConntrackEntry, bool] | None:
        """(entry, is_reply) for a tuple, or None."""
        found = self._by_tuple.get(t)
        if found is None:
            return None
        entry = found[0]
        if entry.expires <= self.clock():
            self._remove(entry)
            return None
        return found

    def tuple_in_use(self, t: Tuple, exclude: ConntrackEntry | None = None) -> bool:
        """Whether a live entry other than `exclude` owns tuple `t` in either direction."""
        found = self.lookup_tuple(t)
        return found is not None and found[0] is not exclude

    def confirm(self, entry: ConntrackEntry) -> bool:
        """Insert an unconfirmed entry; False when a clashing entry won (packet dropped)."""
        if entry.confirmed:
            return True
        if self.tuple_in_use(entry.orig) or self.tuple_in_use(entry.reply):
            return False
        entry.confirmed = True
        self._by_tuple[entry.orig] = (entry, False)
        self._by_tuple[entry.reply] = (entry, True)
        self._entries[entry.id] = entry
        return True

    def delete(self, entry: ConntrackEntry) -> None:
        """Remove an entry (conntrack -D)."""
        self._remove(entry)

    def flush(self) -> None:
        """Remove every entry (conntrack -F)."""
        self._by_tuple.clear()
        self._entries.clear()

    def expire(self) -> None:
        """Drop every entry whose timeout has passed."""
        now = self.clock()
        for entry in [e for e in self._entries.values() if e.expires <= now]:
            self._remove(entry)

    def _remove(self, entry: ConntrackEntry) -> None:
        self._entries.pop(entry.id, None)
        for t in (entry.orig, entry.reply):
            if self._by_tuple.get(t, (None,))[0] is entry:
                del self._by_tuple[t]

    def listing(self) -> str:
        """The table as `conntrack -L` prints it, one line per entry, oldest first."""
        now = self.clock()
        return "".join(format_entry(e, now) + "\n" for e in self)


def update_state(entry: ConntrackEntry, packet: Packet, is_reply: bool, now: float) -> bool:
    """Advance the entry's protocol state for one packet and refresh its timeout; False = INVALID."""
    proto = entry.orig[0]
    if is_reply and not entry.seen_reply:
        entry.seen_reply = True
    if proto == Proto.TCP:
        ok = _tcp_step(entry, packet.tcp_flags, is_reply)
        timeout = TCP_TIMEOUTS[entry.tcp_state]
        if not ok:
            return False
    elif proto == Proto.UDP:
        # nf_conntrack_proto_udp: replied and still active 2 s after the first packet is a stream
        if entry.seen_reply and now > entry.start + UDP_STREAM_AFTER:
            entry.assured = True
            timeout = UDP_STREAM_TIMEOUT
        else:
            timeout = UDP_TIMEOUT
    elif proto in (Proto.ICMP, Proto.ICMPV6):
        timeout = ICMP_TIMEOUT
    else:
        timeout = GENERIC_TIMEOUT
    entry.expires = now + timeout
    return True


def tcp_new_state(flags: int) -> TcpState | None:
    """The state of a new TCP entry from its first packet; None when it cannot start one.

    SYN alone starts SYN_SENT; with nf_conntrack_tcp_loose=1 (the default) a bare
    ACK picks up an established connection. SYN+ACK, FIN and RST start nothing.
    """
    if flags & TcpFlag.RST:
        return None
    if flags & TcpFlag.SYN:
        return None if flags & TcpFlag.ACK else TcpState.SYN_SENT
    if flags & TcpFlag.FIN:
        return None
    if flags & TcpFlag.ACK:
        return TcpState.ESTABLISHED
    return None


def _tcp_step(entry: ConntrackEntry, flags: int, is_reply: bool) -> bool:
    """The TCP state machine (a reduced nf_conntrack_proto_tcp tcp_conntracks table)."""
    state = entry.tcp_state
    if flags & TcpFlag.RST:
        entry.tcp_state = TcpState.CLOSE
        return True
    syn, ack, fin = flags & TcpFlag.SYN, flags & TcpFlag.ACK, flags & TcpFlag.FIN
    if state is TcpState.SYN_SENT:
        if is_reply and syn and ack:
            entry.tcp_state = TcpState.SYN_RECV
        elif is_reply and not syn:
            return False
    elif state is TcpState.SYN_RECV:
        if not is_reply and ack and not syn:
            entry.tcp_state = TcpState.ESTABLISHED
            entry.assured = True
    elif state is TcpState.ESTABLISHED:
        if fin:
            entry.tcp_state = TcpState.FIN_WAIT
    elif state is TcpState.FIN_WAIT:
        if fin:
            entry.tcp_state = TcpState.LAST_ACK
        elif ack:
            entry.tcp_state = TcpState.CLOSE_WAIT
    elif state is TcpState.CLOSE_WAIT:
        if fin:
            entry.tcp_state = TcpState.LAST_ACK
    elif state is TcpState.LAST_ACK:
        if ack and not syn:
            entry.tcp_state = TcpState.TIME_WAIT
    elif state in (TcpState.TIME_WAIT, TcpState.CLOSE):
        if syn and not ack and not is_reply:
            entry.tcp_state = TcpState.SYN_SENT  # port reuse re-opens the entry
            entry.seen_reply = False
            entry.assured = False
    if entry.tcp_state is TcpState.ESTABLISHED and entry.seen_reply:
        entry.assured = True
    return True


def _format_tuple(t: Tuple, entry: ConntrackEntry, reply: bool) -> str:
    proto, src, sport, dst, dport = t
    if proto in (Proto.ICMP, Proto.ICMPV6):
        table = ICMP_QUERY_REPLY if proto == Proto.ICMP else ICMPV6_QUERY_REPLY
        itype = table.get(entry.icmp_type, entry.icmp_type) if reply else entry.icmp_type
        return f"src={src} dst={dst} type={itype} code={entry.icmp_code} id={sport}"
    if proto in (Proto.TCP, Proto.UDP, Proto.SCTP):
        return f"src={src} dst={dst} sport={sport} dport={dport}"
    return f"src={src} dst={dst}"


def format_entry(entry: ConntrackEntry, now: float) -> str:
    """One `conntrack -L` line (conntrack-tools 1.4 default output)."""
    proto = entry.orig[0]
    name = PROTO_NAMES.get(proto, "unknown")
    remaining = max(0, int(entry.expires - now))
    parts = [f"{name:<8} {proto} {remaining}"]
    if entry.tcp_state is not None:
        parts.append(entry.tcp_state.value)
    parts.append(_format_tuple(entry.orig, entry, False))
    if not entry.seen_reply:
        parts.append("[UNREPLIED]")
    parts.append(_format_tuple(entry.reply, entry, True))
    if entry.assured:
        parts.append("[ASSURED]")
    parts.append(f"mark={entry.mark}")
    parts.append("use=1")
    return " ".join(parts)


__all__ = [
    "UNTRACKED", "ConntrackEntry", "ConntrackTable", "TcpState", "format_entry",
    "invert", "is_icmp_error", "packet_tuple", "tcp_new_state", "update_state",
]

