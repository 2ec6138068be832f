"""Each CNI mode's devices, addresses, routes and neighbours, as `ip` would show them; portmap's rules; the outside host."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.dataplane.interfaces import InterfaceKind
from netsim.emulator.cluster import Cluster
from netsim.emulator.portmap import container_id, dnat_chain_name
from netsim.emulator.wiring import build_network, host_veth_name, node_ruleset

ROOT = Path(__file__).resolve().parents[2]
PATHS = ROOT / "tests/scenarios/data/paths"
TOPOLOGIES = {"bridge": "three-node.yaml", "vxlan": "three-node-vxlan.yaml", "ptp": "three-node-ptp.yaml"}


@pytest.fixture(scope="module", params=sorted(TOPOLOGIES))
def built(request):
    cluster = Cluster.build(load_topology(ROOT / "topologies" / TOPOLOGIES[request.param]), load_paths([PATHS]))
    return request.param, cluster, build_network(cluster)


def pod(cluster, name):
    return cluster.store.get("Pod", name, "default")


def test_pod_routes(built) -> None:
    mode, cluster, net = built
    web_b = pod(cluster, "web-b")
    ip = web_b.pod_ip
    expected = {
        "bridge": (f"default via 10.244.2.1 dev eth0\n10.244.0.0/16 via 10.244.2.1 dev eth0\n"
                   f"10.244.2.0/24 dev eth0 proto kernel scope link src {ip}\n"),
        "vxlan": (f"default via 10.244.2.1 dev eth0\n10.244.0.0/16 via 10.244.2.1 dev eth0\n"
                  f"10.244.2.0/24 dev eth0 proto kernel scope link src {ip}\n"),
        "ptp": (f"default via 10.244.2.1 dev eth0\n10.244.2.0/24 via 10.244.2.1 dev eth0 src {ip}\n"
                f"10.244.2.1 dev eth0 scope link src {ip}\n"),
    }[mode]
    assert net.host("default/web-b").route_show() == expected
    assert net.host("default/web-b").interface("eth0").mtu == (1450 if mode == "vxlan" else 1500)


def test_node_routes_and_devices(built) -> None:
    mode, cluster, net = built
    node = net.host("kind-worker2")
    lines = node.route_show().splitlines()
    assert lines[0] == "default via 172.18.0.1 dev eth0"
    assert "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.4" in lines
    if mode == "vxlan":
        flannel = node.interface("flannel.1")
        assert flannel.kind is InterfaceKind.VXLAN and flannel.mtu == 1450
        assert (flannel.vxlan.vni, flannel.vxlan.dstport, str(flannel.vxlan.local), flannel.vxlan.learning) == \
            (1, 8472, "172.18.0.4", False)
        assert [str(a) for a in flannel.addresses] == ["10.244.2.0/32"]
        assert "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink" in lines
        remote = net.host("kind-worker").interface("flannel.1").mac
        assert f"10.244.1.0 dev flannel.1 lladdr {remote} PERMANENT" in node.neigh_show()
        assert node.vxlan_fdbs["flannel.1"].remotes(remote) == [net.host("kind-worker").interface("eth0")
                                                                .addresses[0].ip]
    else:
        assert "10.244.1.0/24 via 172.18.0.3 dev eth0" in lines
    if mode == "ptp":
        assert "cni0" not in node.interfaces
        veth = host_veth_name(pod(cluster, "web-b"))
        assert [str(a) for a in node.interface(veth).addresses] == ["10.244.2.1/32"]
        assert f"{pod(cluster, 'web-b').pod_ip} dev {veth} scope link" in lines
    else:
        assert [str(a) for a in node.interface("cni0").addresses] == ["10.244.2.1/24"]
        veth = node.interface(host_veth_name(pod(cluster, "web-b")))
        assert veth.master == "cni0" and veth.hairpin


def test_host_network_pods_share_the_node(built) -> None:
    _, cluster, net = built
    assert "default/hostnet" not in net.hosts and pod(cluster, "hostnet").pod_ip == "172.18.0.3"


def test_the_outside_client_is_the_node_networks_gateway(built) -> None:
    _, _, net = built
    external = net.host("external")
    assert [str(a) for a in external.interface("eth0").addresses] == ["172.18.0.1/16"]
    assert external.forwarding and external.route_show() == \
        "172.18.0.0/16 dev eth0 proto kernel scope link src 172.18.0.1\n"


def test_portmap_rules(built) -> None:
    mode, cluster, _ = built
    hostport = pod(cluster, "hostport")
    network = "kindnet" if mode == "ptp" else "cbr0"
    cid = container_id(hostport)
    chain = dnat_chain_name(network, cid)
    assert len(chain) == 28 and chain.startswith("CNI-DN-")
    text = node_ruleset(cluster, cluster.store.get("Node", "kind-worker2"))
    nat = text.split("*nat\n")[1].split("COMMIT")[0]
    rules = [line for line in nat.splitlines() if line.startswith("-A")]
    cni = [line for line in rules if "CNI-" in line]
    assert cni == [
        "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
        "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
        '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark '
        "0x2000/0x2000",
        "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
        f"-A {chain} -s 10.244.2.0/24 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK",
        f"-A {chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8081 -j CNI-HOSTPORT-SETMARK",
        f"-A {chain} -p tcp -m tcp --dport 8081 -j DNAT --to-destination {hostport.pod_ip}:80",
        f'-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"{network}\\" id: \\"{cid}\\"" '
        f"-m multiport --dports 8081 -j {chain}",
    ]
    # kube-proxy's jumps stay first in PREROUTING and OUTPUT; portmap's MASQ jump comes first in POSTROUTING
    order = [line.split(" -j ")[1] for line in rules if line.split()[1] in ("PREROUTING", "POSTROUTING")]
    assert order == ["CNI-HOSTPORT-MASQ", "KUBE-POSTROUTING", "KUBE-SERVICES", "CNI-HOSTPORT-DNAT"]
    other = node_ruleset(cluster, cluster.store.get("Node", "kind-worker"))
    assert "CNI-" not in other  # no hostPort pod there
