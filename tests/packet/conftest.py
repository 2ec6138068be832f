"""Fixtures for the packet tests: scapy may not consult the host while we build packets.

`no_host_lookups` (autouse) makes scapy's route tables, neighbour resolution
and MAC look-ups raise `HostLookup`, so any implicit field that scapy would
fill from this machine (SourceIPField, SourceMACField, DestMACField) fails the
test that forgot it instead of silently reading the host.
"""

from __future__ import annotations

import pytest


class HostLookup(AssertionError):
    """scapy tried to read the host's routes or neighbours: an implicit field was left unset."""


class _NoRoutes:
    """Stands in for scapy's conf.route / conf.route6: every look-up raises."""

    def route(self, *args, **kwargs):
        raise HostLookup(f"scapy looked up a route for {args!r}: set the address explicitly")

    def __getattr__(self, name):
        raise HostLookup(f"scapy read the host routing table ({name}): set the field explicitly")


def _refuse(what):
    def refuse(*args, **kwargs):
        raise HostLookup(f"scapy called {what}{args!r}: set the MAC explicitly")
    return refuse


@pytest.fixture(autouse=True)
def no_host_lookups(monkeypatch):
    """Make every scapy host look-up (routes, ARP/ND, interface MACs) raise HostLookup."""
    import scapy.layers.inet6
    import scapy.layers.l2
    from scapy.config import conf

    monkeypatch.setattr(conf, "route", _NoRoutes())
    monkeypatch.setattr(conf, "route6", _NoRoutes())
    monkeypatch.setattr(conf.neighbor, "resolve", _refuse("conf.neighbor.resolve"))
    monkeypatch.setattr(scapy.layers.l2, "getmacbyip", _refuse("getmacbyip"))
    monkeypatch.setattr(scapy.layers.inet6, "getmacbyip6", _refuse("getmacbyip6"))
    yield
