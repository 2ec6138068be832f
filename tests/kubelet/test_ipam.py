"""host-local IPAM: gateway reserved, addresses in order after the last one, wrap-around, release."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from netsim.kubelet.ipam import AddressesExhausted, HostLocalIpam


def test_addresses_in_order_after_the_gateway() -> None:
    ipam = HostLocalIpam("10.244.1.0/24")
    assert ipam.gateway == ip_address("10.244.1.1")
    assert [str(ipam.allocate(f"p{i}")) for i in range(3)] == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
    assert str(ipam.allocate("p0")) == "10.244.1.2"  # the same owner keeps its address


def test_release_does_not_reuse_until_wrap_around() -> None:
    ipam = HostLocalIpam("10.0.0.0/29")  # .2 .. .6 usable
    for i in range(5):
        ipam.allocate(f"p{i}")
    ipam.release("p0")
    assert str(ipam.allocate("new")) == "10.0.0.2"
    with pytest.raises(AddressesExhausted):
        ipam.allocate("one-too-many")
