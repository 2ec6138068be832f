"""MAC addresses as netsim writes them: six lowercase hex pairs joined by colons.

`mac_bytes` parses the forms people type (`AA:BB:...`, `aa-bb-...`) into the
6 wire bytes and raises `InvalidField` otherwise; `mac_str` prints the
canonical form. Records and value objects keep the canonical string.
"""

from __future__ import annotations

from functools import lru_cache

from netsim.packet.errors import InvalidField

BROADCAST = "ff:ff:ff:ff:ff:ff"  # Ethernet broadcast; ARP requests go here
ZERO = "00:00:00:00:00:00"       # the unknown target hardware address of an ARP request (Linux)


def mac_bytes(mac: str | None, what: str = "MAC address") -> bytes:
    """The 6 wire bytes of `mac`; `what` names it in the error (`Ethernet source MAC`)."""
    raw = _parsed(mac) if isinstance(mac, str) else None
    if raw is None:
        _refuse(mac, what)
    return raw


@lru_cache(maxsize=4096)
def _parsed(mac: str) -> bytes | None:
    """The 6 bytes of a well-formed MAC, None otherwise (cached: a cluster has few MACs)."""
    try:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    except (ValueError, AttributeError, TypeError):
        return None
    return raw if len(raw) == 6 else None


def _refuse(mac, what: str) -> None:
    """Raise the error saying why `mac` is not a MAC address."""
    if mac is None:
        raise InvalidField(what, "missing (None); link addresses must be set before encoding a frame")
    raise InvalidField(what, f"not a MAC address: {mac!r}")


def mac_str(raw: bytes) -> str:
    """The canonical text of 6 wire bytes (`0a:58:0a:f4:01:05`)."""
    return raw.hex(":")


def normalize_mac(mac: str, what: str = "MAC address") -> str:
    """`mac` in canonical form; raises `InvalidField` when it is not a MAC address."""
    return mac_str(mac_bytes(mac, what))
