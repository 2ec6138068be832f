"""The checksums the wire format needs: the Internet checksum (RFC 1071) and CRC32c (SCTP).

`internet_checksum(data, initial)` treats `data` as big-endian 16-bit words
(an odd tail is padded with a zero byte), adds `initial` (a pseudo-header
already summed, see `pseudo_header_sum`) and returns the one's complement of
the one's complement sum, exactly as scapy's `checksum()` does. It uses the
identity "one's complement sum ≡ value mod 0xFFFF" so the big-integer work
happens in C.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The 16-bit Internet checksum of `data` plus an already summed pseudo-header."""
    if len(data) & 1:
        data += b"\0"
    total = initial + int.from_bytes(data, "big")
    rest = total % 0xFFFF
    if rest == 0:
        # All-zero input sums to 0 (checksum 0xFFFF); any other multiple of
        # 0xFFFF sums to 0xFFFF ("negative zero"), whose complement is 0.
        return 0 if total else 0xFFFF
    return 0xFFFF - rest


def pseudo_header_sum(src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address,
                      proto: int, length: int) -> int:
    """The pseudo-header (RFC 793 for IPv4, RFC 8200 §8.1 for IPv6) as a number congruent to its word sum.

    Words of a big-endian number add up to the number modulo 0xFFFF, so the
    addresses contribute `int(address)` and the length and protocol words
    contribute themselves, for both IP versions.
    """
    return int(src) + int(dst) + proto + length


def _crc32c_table() -> tuple[int, ...]:
    """The byte table of reflected CRC32c (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC32c of `data` (RFC 3309); SCTP stores it least significant byte first."""
    crc = 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF
