"""A pcapng writer (draft-ietf-opsawg-pcapng) in plain `struct`: deterministic bytes, simulated time.

One `PcapngWriter` writes one section to a binary stream:

    writer = PcapngWriter(stream)                      # Section Header Block
    eth0 = writer.add_interface("node1/eth0")          # Interface Description Block -> id 0
    writer.write_packet(eth0, 1700000000.000123, frame,
                        comment="node1: POSTROUTING MASQUERADE", direction=Direction.OUT)

Timestamps are the simulated clock's seconds since the Unix epoch (a float,
int, Fraction or Decimal), written with microsecond resolution (`if_tsresol`
6) after rounding to the nearest microsecond; the writer never reads the
wall clock. Every block is little-endian whatever the host, and the section
header records no host facts (hardware, OS), so the same calls give the same
bytes anywhere. Interfaces may be added at any time before their first
packet. `section_header_block`, `interface_description_block` and
`enhanced_packet_block` build single blocks for callers that assemble files
themselves; `read_pcapng(data)` reads packets back (tests, golden summaries).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import BinaryIO

from netsim.capture.errors import InvalidCapture

LINKTYPE_ETHERNET = 1        # tcpdump.org link-layer header types: IEEE 802.3 Ethernet
DEFAULT_SNAPLEN = 262144     # tcpdump's and Wireshark's default snapshot length
TSRESOL_MICROSECONDS = 6     # if_tsresol: 10^-6 seconds per timestamp unit
_UNITS_PER_SECOND = 10 ** TSRESOL_MICROSECONDS

# Block types (pcapng §4).
SHB_TYPE = 0x0A0D0D0A        # Section Header Block; the value reads the same in either byte order
IDB_TYPE = 0x00000001        # Interface Description Block
EPB_TYPE = 0x00000006        # Enhanced Packet Block
BYTE_ORDER_MAGIC = 0x1A2B3C4D

# Option codes (pcapng §3.5, §4.1, §4.2, §4.3).
OPT_ENDOFOPT = 0             # end of options
OPT_COMMENT = 1              # UTF-8 comment, any block
SHB_USERAPPL = 4             # the application that wrote the section
IF_NAME = 2                  # interface name, e.g. "node1/eth0"
IF_DESCRIPTION = 3           # free text about the interface
IF_TSRESOL = 9               # timestamp resolution, one byte
EPB_FLAGS = 2                # 32-bit flags; bits 0-1 are the direction

# Block bodies, little-endian, without the leading type/length and trailing length words.
_SHB_BODY = struct.Struct("<IHHq")    # byte-order magic, major 1, minor 0, section length (-1: unknown)
_IDB_BODY = struct.Struct("<HHI")     # link type, reserved, snaplen
_EPB_BODY = struct.Struct("<IIIII")   # interface id, timestamp high, timestamp low, captured length, original length
_HEAD = struct.Struct("<II")          # block type, block total length
_TAIL = struct.Struct("<I")           # block total length again
_OPTION = struct.Struct("<HH")        # option code, option length (value padded to 4 bytes)


class Direction(enum.IntEnum):
    """A packet's direction at its capture point, as pcapng's epb_flags bits 0-1 say it."""

    IN = 1   # inbound: arriving on the interface
    OUT = 2  # outbound: leaving through the interface


def _option(code: int, value: bytes) -> bytes:
    """One option: code, length, value padded to a multiple of 4."""
    return _OPTION.pack(code, len(value)) + value + b"\0" * (-len(value) % 4)


def _options(options: list[tuple[int, bytes]]) -> bytes:
    """An option list closed by opt_endofopt, or nothing when there are no options."""
    if not options:
        return b""
    return b"".join(_option(code, value) for code, value in options) + _OPTION.pack(OPT_ENDOFOPT, 0)


def _block(block_type: int, body: bytes) -> bytes:
    """A block: type, total length, body (already padded), total length."""
    total = 12 + len(body)
    return _HEAD.pack(block_type, total) + body + _TAIL.pack(total)


def section_header_block(application: str | None = "netsim") -> bytes:
    """A Section Header Block (version 1.0, unknown section length), naming the writing application."""
    options = [(SHB_USERAPPL, application.encode())] if application else []
    return _block(SHB_TYPE, _SHB_BODY.pack(BYTE_ORDER_MAGIC, 1, 0, -1) + _options(options))


def interface_description_block(name: str, snaplen: int = DEFAULT_SNAPLEN, description: str | None = None,
                                linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """An Interface Description Block with if_name, optional if_description and microsecond if_tsresol."""
    if not 0 <= snaplen <= 0xFFFFFFFF:
        raise InvalidCapture(f"interface {name!r}: snaplen must be between 0 and 4294967295, got {snaplen}")
    options = [(IF_NAME, name.encode())]
    if description:
        options.append((IF_DESCRIPTION, description.encode()))
    options.append((IF_TSRESOL, bytes([TSRESOL_MICROSECONDS])))
    return _block(IDB_TYPE, _IDB_BODY.pack(linktype, 0, snaplen) + _options(options))


def timestamp_units(time: float) -> int:
    """Simulated seconds since the epoch as whole microseconds (rounded to nearest)."""
    units = round(time * _UNITS_PER_SECOND)
    if not 0 <= units < 1 << 64:
        raise InvalidCapture(f"time must be seconds since the Unix epoch, at least 0; got {time!r}")
    return units


def enhanced_packet_block(interface: int, time: float, frame: bytes, snaplen: int = DEFAULT_SNAPLEN,
                          comment: str | None = None, direction: Direction | None = None) -> bytes:
    """An Enhanced Packet Block: `frame` cut to `snaplen`, its time, and optional comment and direction."""
    units = timestamp_units(time)
    captured = frame[:snaplen]
    body = _EPB_BODY.pack(interface, units >> 32, units & 0xFFFFFFFF, len(captured), len(frame))
    body += captured + b"\0" * (-len(captured) % 4)
    options = []
    if comment:
        options.append((OPT_COMMENT, comment.encode()))
    if direction is not None:
        options.append((EPB_FLAGS, struct.pack("<I", Direction(direction))))
    return _block(EPB_TYPE, body + _options(options))


class PcapngWriter:
    """Writes one pcapng section to a binary stream: the header now, interfaces and packets as called."""

    def __init__(self, stream: BinaryIO, application: str | None = "netsim") -> None:
        self._stream = stream
        self._snaplens: list[int] = []
        self._names: list[str] = []
        stream.write(section_header_block(application))

    @property
    def interfaces(self) -> tuple[str, ...]:
        """The interface names, in interface-id order."""
        return tuple(self._names)

    def add_interface(self, name: str, snaplen: int = DEFAULT_SNAPLEN, description: str | None = None,
                      linktype: int = LINKTYPE_ETHERNET) -> int:
        """Write an Interface Description Block; returns its interface id (0, 1, ... in call order)."""
        self._stream.write(interface_description_block(name, snaplen, description, linktype))
        self._snaplens.append(snaplen)
        self._names.append(name)
        return len(self._names) - 1

    def write_packet(self, interface: int, time: float, frame: bytes, comment: str | None = None,
                     direction: Direction | None = None) -> None:
        """Write one Enhanced Packet Block on interface id `interface` at simulated `time`."""
        if not 0 <= interface < len(self._snaplens):
            raise InvalidCapture(f"interface id {interface} was never added (this section has {len(self._snaplens)})")
        self._stream.write(enhanced_packet_block(interface, time, frame, self._snaplens[interface],
                                                 comment, direction))

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._stream.flush()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """One Enhanced Packet Block as read back: where, when (in microseconds), what, and its options."""

    interface: str              # the interface's if_name ("" when the IDB has none)
    time_us: int                # timestamp in microseconds since the epoch
    frame: bytes                # the captured bytes (cut to the snaplen)
    original_length: int        # the frame's length on the wire
    comment: str | None = None
    direction: Direction | None = None


def read_pcapng(data: bytes) -> list[CapturedPacket]:
    """The packets of a pcapng file's bytes, for tests and golden summaries (no scapy).

    Reads sections in either byte order, Interface Description Blocks (if_name,
    if_tsresol in powers of 10 or 2) and Enhanced Packet Blocks; skips every
    other block type. Malformed bytes raise `InvalidCapture`.
    """
    packets: list[CapturedPacket] = []
    interfaces: list[tuple[str, int]] = []  # (if_name, timestamp units per second)
    order = "<"
    offset = 0
    while offset < len(data):
        if len(data) - offset < 12:
            raise InvalidCapture(f"pcapng: truncated block header at byte {offset}")
        block_type = struct.unpack_from("<I", data, offset)[0]
        if block_type == SHB_TYPE:
            magic = data[offset + 8:offset + 12]
            order = "<" if magic == struct.pack("<I", BYTE_ORDER_MAGIC) else ">"
            if magic != struct.pack(order + "I", BYTE_ORDER_MAGIC):
                raise InvalidCapture(f"pcapng: bad byte-order magic at byte {offset}")
            interfaces = []
        block_type, total = struct.unpack_from(order + "II", data, offset)
        if total < 12 or total % 4 or offset + total > len(data):
            raise InvalidCapture(f"pcapng: block at byte {offset} has bad total length {total}")
        body = data[offset + 8:offset + total - 4]
        if block_type == IDB_TYPE:
            options = _read_options(body[8:], order)
            name = options.get(IF_NAME, b"").decode(errors="replace")
            resolution = options.get(IF_TSRESOL, bytes([TSRESOL_MICROSECONDS]))[0]
            base = 2 if resolution & 0x80 else 10
            interfaces.append((name, base ** (resolution & 0x7F)))
        elif block_type == EPB_TYPE:
            interface, high, low, captured, original = struct.unpack_from(order + "IIIII", body)
            if interface >= len(interfaces):
                raise InvalidCapture(f"pcapng: packet at byte {offset} names interface {interface}, never described")
            name, per_second = interfaces[interface]
            padded = captured + (-captured % 4)
            options = _read_options(body[20 + padded:], order)
            flags = options.get(EPB_FLAGS)
            direction = struct.unpack(order + "I", flags)[0] & 3 if flags else 0
            comment = options.get(OPT_COMMENT)
            packets.append(CapturedPacket(
                name, ((high << 32) | low) * _UNITS_PER_SECOND // per_second, bytes(body[20:20 + captured]),
                original, comment.decode(errors="replace") if comment is not None else None,
                Direction(direction) if direction in (1, 2) else None))
        offset += total
    return packets


def _read_options(raw: bytes, order: str) -> dict[int, bytes]:
    """Option code -> value (the first of each code) up to opt_endofopt."""
    options: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(raw):
        code, length = struct.unpack_from(order + "HH", raw, offset)
        if code == OPT_ENDOFOPT:
            break
        options.setdefault(code, bytes(raw[offset + 4:offset + 4 + length]))
        offset += 4 + length + (-length % 4)
    return options
