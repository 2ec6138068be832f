"""Value objects and tables: MACs, routes and `ip route` text, neighbours, FDBs, configuration errors."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network

import pytest
from hypothesis import given, strategies as st

from netsim.dataplane import Host, InterfaceKind, Network, Route, RouteScope, RouteType, RoutingTable, mac_address
from netsim.dataplane.bridge import BridgeFdb, VxlanFdb
from netsim.dataplane.errors import (AddressError, DuplicateBinding, DuplicateHost, DuplicateInterface,
                                     GatewayUnreachable, InterfaceKindError, LinkError, NoSuchRoute, RouteExists,
                                     UnknownInterface)
from netsim.dataplane.neighbours import NeighbourTable
from netsim.errors import InputError, NetsimError
from netsim.dataplane import EchoApp
from netsim.packet import Proto


def test_mac_scheme_is_stable_and_locally_administered():
    mac = mac_address("node-1", "eth0")
    assert mac == mac_address("node-1", "eth0")
    assert mac != mac_address("node-1", "eth1") != mac_address("node-2", "eth0")
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01
    assert Host("h").interface("lo").mac == "00:00:00:00:00:00"


def test_address_adds_the_kernel_routes():
    host = Host("node")
    host.add_interface("eth0")
    host.add_address("eth0", "10.244.1.1/24")
    assert host.route_show() == "10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.1\n"
    assert host.route_show("local") == (
        "local 10.244.1.1 dev eth0 proto kernel scope host src 10.244.1.1\n"
        "broadcast 10.244.1.255 dev eth0 proto kernel scope link src 10.244.1.1\n"
        "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1\n"
        "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1\n"
        "broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1\n")
    assert host.local_addresses() == {IPv4Address("127.0.0.1"), IPv4Address("10.244.1.1")}


def test_slash_32_address_has_no_prefix_route_nor_broadcast():
    host = Host("h")
    host.add_interface("eth0")
    host.add_address("eth0", "10.0.0.5/32")
    assert host.route_show() == ""
    assert "10.0.0.5" in host.route_show("local") and "broadcast 10.0.0" not in host.route_show("local")


def test_ip_route_show_formats_and_order():
    host = Host("node")
    host.add_interface("eth0")
    host.add_address("eth0", "192.168.0.10/24")
    host.add_route("default", via="192.168.0.1", proto="dhcp", src="192.168.0.10", metric=100)
    host.add_route("10.244.2.0/24", via="192.168.0.11")
    host.add_route("10.0.0.0/8", via="192.168.0.1", metric=50)
    host.add_route("10.0.0.0/24", dev="eth0")
    host.add_route("10.1.2.3/32", dev="eth0")
    host.add_route("172.16.0.0/12", type=RouteType.UNREACHABLE)
    host.add_route("172.31.0.0/16", type=RouteType.BLACKHOLE)
    host.add_route("10.9.0.0/16", via="10.9.0.1", dev="eth0", onlink=True)
    assert host.route_show() == (
        "default via 192.168.0.1 dev eth0 proto dhcp src 192.168.0.10 metric 100\n"
        "10.0.0.0/24 dev eth0 scope link\n"
        "10.0.0.0/8 via 192.168.0.1 dev eth0 metric 50\n"
        "10.1.2.3 dev eth0 scope link\n"
        "10.9.0.0/16 via 10.9.0.1 dev eth0 onlink\n"
        "10.244.2.0/24 via 192.168.0.11 dev eth0\n"
        "unreachable 172.16.0.0/12\n"
        "blackhole 172.31.0.0/16\n"
        "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.10\n")


def test_brief_examples_print_exactly():
    assert Route(ip_network("0.0.0.0/0"), dev="eth0", gateway=IPv4Address("10.244.1.1")).format() == \
        "default via 10.244.1.1 dev eth0"
    assert Route(ip_network("10.244.1.0/24"), dev="cni0", proto="kernel", scope=RouteScope.LINK,
                 src=IPv4Address("10.244.1.1")).format() == \
        "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1"


def test_longest_prefix_then_metric():
    host = Host("h")
    host.add_interface("eth0")
    host.add_interface("eth1")
    host.add_address("eth0", "192.168.0.10/24")
    host.add_address("eth1", "192.168.1.10/24")
    host.add_route("default", via="192.168.0.1")
    host.add_route("10.0.0.0/8", via="192.168.0.1", metric=200)
    host.add_route("10.0.0.0/8", via="192.168.1.1", metric=100)
    host.add_route("10.1.0.0/16", via="192.168.0.2")
    assert host.route_lookup(IPv4Address("10.1.2.3")).gateway == IPv4Address("192.168.0.2")
    assert host.route_lookup(IPv4Address("10.2.0.1")).gateway == IPv4Address("192.168.1.1")
    assert host.route_lookup(IPv4Address("8.8.8.8")).dst.prefixlen == 0
    local = host.route_lookup(IPv4Address("192.168.1.10"))
    assert local.type is RouteType.LOCAL and local.table == "local"
    assert host.route_lookup(IPv4Address("127.9.9.9")).type is RouteType.LOCAL


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 3)), max_size=12),
       st.integers(0, 2**32 - 1))
def test_lookup_is_longest_prefix_lowest_metric(entries, target):
    table = RoutingTable()
    for address, plen, metric in entries:
        table.add(Route(ip_network((address, plen), strict=False), dev="eth0", metric=metric))
    dst = IPv4Address(target)
    matching = [r for r in table if dst in r.dst]
    found = table.lookup(dst)
    if not matching:
        assert found is None
    else:
        best = max(matching, key=lambda r: (r.dst.prefixlen, -r.metric))
        assert (found.dst, found.metric) == (best.dst, best.metric)


def test_gateway_must_be_directly_connected():
    host = Host("h")
    host.add_interface("eth0")
    host.add_address("eth0", "192.168.0.10/24")
    with pytest.raises(GatewayUnreachable, match="Nexthop has invalid gateway"):
        host.add_route("default", via="10.0.0.1")
    with pytest.raises(GatewayUnreachable):
        host.add_route("default", via="192.168.0.10")  # a local address
    host.add_interface("eth1")
    with pytest.raises(GatewayUnreachable):
        host.add_route("default", via="192.168.0.1", dev="eth1")
    assert host.route_show() == "192.168.0.0/24 dev eth0 proto kernel scope link src 192.168.0.10\n"
    assert host.add_route("default", via="192.168.0.1").dev == "eth0"


def test_route_errors():
    host = Host("h")
    host.add_interface("eth0")
    host.add_address("eth0", "192.168.0.10/24")
    host.add_route("10.0.0.0/8", dev="eth0")
    with pytest.raises(RouteExists, match="File exists"):
        host.add_route("10.0.0.0/8", via="192.168.0.1")
    host.add_route("10.0.0.0/8", via="192.168.0.1", metric=10)  # another metric is another route
    with pytest.raises(NoSuchRoute):
        host.delete_route("11.0.0.0/8")
    assert host.delete_route("10.0.0.0/8", metric=10).gateway == IPv4Address("192.168.0.1")
    with pytest.raises(UnknownInterface):
        host.add_route("10.1.0.0/16", dev="eth9")
    with pytest.raises(AddressError):
        host.add_route("10.1.0.0/16", dev="eth0", src="1.2.3.4")


def test_configuration_errors_are_netsim_input_errors():
    net = Network()
    host = net.add_host("h")
    host.add_interface("eth0")
    with pytest.raises(DuplicateInterface) as caught:
        host.add_interface("eth0")
    assert isinstance(caught.value, NetsimError) and isinstance(caught.value, InputError)
    assert caught.value.host == "h" and "eth0" in str(caught.value)
    with pytest.raises(DuplicateHost):
        net.add_host("h")
    with pytest.raises(AddressError):
        host.add_address("eth0", "fd00::1/64")
    host.add_address("eth0", "10.0.0.1/24")
    with pytest.raises(AddressError):
        host.add_address("eth0", "10.0.0.1/16")
    with pytest.raises(InterfaceKindError):
        host.set_master("eth0", "lo")
    with pytest.raises(InterfaceKindError):
        host.add_interface("an-interface-name-too-long")
    net.add_host("g")
    with pytest.raises(DuplicateInterface):
        net.add_veth("h", "veth0", "g", "lo")
    assert "veth0" not in host.interfaces  # all or nothing
    with pytest.raises(LinkError):
        net.connect("nowhere", "h", "eth0")
    net.add_segment("lan", [("h", "eth0")])
    with pytest.raises(LinkError):
        net.connect("lan", "h", "eth0")
    host.bind(EchoApp(), Proto.TCP, 80)
    with pytest.raises(DuplicateBinding):
        host.bind(EchoApp(), Proto.TCP, 80)


def test_neighbour_table_text_and_states():
    table = NeighbourTable()
    table.learn("eth0", IPv4Address("10.0.0.2"), "02:00:00:00:00:02")
    table.add_permanent("flannel.1", IPv4Address("10.244.2.0"), "02:00:00:00:00:aa")
    table.learn("flannel.1", IPv4Address("10.244.2.0"), "02:00:00:00:00:bb")  # permanent wins
    table.fail("eth0", IPv4Address("10.0.0.9"))
    assert table.show() == (
        "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE\n"
        "10.0.0.9 dev eth0 FAILED\n"
        "10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:aa PERMANENT\n")
    table.flush()
    assert len(table) == 1


def test_fdbs():
    fdb = BridgeFdb("cni0")
    assert fdb.learn("02:00:00:00:00:01", "veth-a")
    assert not fdb.learn("02:00:00:00:00:01", "veth-a")
    assert fdb.lookup("02:00:00:00:00:01") == "veth-a"
    fdb.forget_port("veth-a")
    assert fdb.lookup("02:00:00:00:00:01") is None
    vx = VxlanFdb("vxlan0")
    vx.append("00:00:00:00:00:00", IPv4Address("192.168.0.12"))
    vx.append("00:00:00:00:00:00", IPv4Address("192.168.0.11"))
    vx.append("02:00:00:00:00:02", IPv4Address("192.168.0.11"))
    assert vx.remotes("02:00:00:00:00:02") == [IPv4Address("192.168.0.11")]
    assert vx.remotes("02:00:00:00:00:09") == [IPv4Address("192.168.0.11"), IPv4Address("192.168.0.12")]
    assert vx.show().splitlines()[-1] == "02:00:00:00:00:02 dst 192.168.0.11 self permanent"


def test_interface_defaults():
    host = Host("h")
    assert host.add_interface("eth0").mtu == 1500
    assert host.add_vxlan("flannel.1", vni=1, local="192.168.0.10").mtu == 1450
    assert host.interface("lo").mtu == 65536
    assert host.add_bridge("cni0").kind is InterfaceKind.BRIDGE
