"""Errors of the packet layer: bytes or records that cannot be encoded or decoded.

A message names the header and the bad value (`IPv4 header: total length 18
is shorter than the header`); the parts stay attributes. Decoding never
guesses: malformed bytes raise `MalformedPacket`, well-formed bytes that the
record cannot hold (IP options, fragments, IPv6 extension headers) raise
`UnsupportedPacket`, so that encode∘decode gives back the same bytes.
"""

from __future__ import annotations

from netsim.errors import NetsimError


class PacketError(NetsimError):
    """Root of the packet layer's errors; `header` names the header at fault."""

    def __init__(self, header: str, problem: str) -> None:
        self.header = header
        self.problem = problem
        super().__init__(f"{header}: {problem}")


class MalformedPacket(PacketError):
    """The bytes are not a valid header (truncated, bad length, bad checksum, bad version)."""


class UnsupportedPacket(PacketError):
    """The bytes are valid but carry something a `Packet` record cannot hold."""


class InvalidField(PacketError):
    """A record's or value object's field is out of range for its header (e.g. a port of 70000)."""
