"""Each pod's /etc/resolv.conf as kubelet forms it: dnsPolicy, dnsConfig merges, limits and their events."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_paths, load_text
from netsim.api.objects import make_object
from netsim.api.topology import load_topology, topology_from_dict
from netsim.cli.exec import exec_in_pod
from netsim.emulator.cluster import Cluster
from netsim.errors import NotImplementedFeature
from netsim.kubelet.resolvconf import DnsConfig, node_resolv_conf, parse_resolv_conf, pod_dns_config, pod_resolv_conf

ROOT = Path(__file__).resolve().parents[2]
NODE = DnsConfig(("172.18.0.1",), ("corp.example",), ("ndots:0", "timeout:2"))
SEED_SEARCH = "search default.svc.cluster.local svc.cluster.local cluster.local"


def pod(spec: dict, namespace: str = "default") -> object:
    base = {"containers": [{"name": "app", "image": "x"}]}
    return make_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
                        "spec": {**base, **spec}})


def conf(spec: dict, namespace: str = "default") -> tuple[DnsConfig, tuple]:
    return pod_dns_config(pod(spec, namespace), ("10.96.0.10",), "cluster.local", NODE)


def test_the_seed_documents_file_in_every_container() -> None:
    """The seed's example: nameserver, the three search domains, ndots:5 — in each container alike."""
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_paths([ROOT / "cluster/quickstart"]))
    extra = load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: two}\nspec:\n  containers:\n"
                      "  - {name: a, image: x}\n  - {name: b, image: x}\n")
    from netsim.api.apply import apply_manifests
    apply_manifests(cluster.store, extra)
    cluster.settle()
    expected = f"{SEED_SEARCH}\nnameserver 10.96.0.10\noptions ndots:5\n"
    for container in ("a", "b", None):
        assert exec_in_pod(cluster.store, cluster.topology, "two", "default", container,
                           ["--", "cat", "/etc/resolv.conf"]) == expected


def test_exec_emulates_only_cat_resolv_conf() -> None:
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_paths([ROOT / "cluster/quickstart"]))
    with pytest.raises(NotImplementedFeature, match=r"emulates cat, df, env, hostname, ls, printenv; asked to run `curl x`"):
        exec_in_pod(cluster.store, cluster.topology, "client", "default", None, ["--", "curl", "x"])
    with pytest.raises(Exception, match="container nope is not valid for pod client"):
        exec_in_pod(cluster.store, cluster.topology, "client", "default", "nope", ["cat", "/etc/resolv.conf"])


def test_cluster_first_uses_the_cluster_dns_and_appends_the_nodes_search() -> None:
    config, warnings = conf({}, "team-a")
    assert config == DnsConfig(("10.96.0.10",), ("team-a.svc.cluster.local", "svc.cluster.local", "cluster.local",
                                                 "corp.example"), ("ndots:5",))
    assert warnings == ()
    assert config.render() == ("search team-a.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
                               "nameserver 10.96.0.10\noptions ndots:5\n")


def test_cluster_first_on_the_host_network_falls_back_to_default() -> None:
    assert conf({"hostNetwork": True})[0] == NODE
    with_host_net = conf({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"})[0]
    assert with_host_net.nameservers == ("10.96.0.10",) and with_host_net.options == ("ndots:5",)


def test_default_is_the_nodes_resolv_conf() -> None:
    assert conf({"dnsPolicy": "Default"})[0] == NODE


def test_none_takes_only_dns_config() -> None:
    config, _ = conf({"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["1.2.3.4"], "searches": ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}})
    assert config.render() == ("search ns1.svc.cluster-domain.example my.dns.search.suffix\n"
                               "nameserver 1.2.3.4\noptions ndots:2 edns0\n")   # the Kubernetes docs' example


def test_dns_config_merges_without_duplicates_and_its_options_win() -> None:
    config, _ = conf({"dnsConfig": {"nameservers": ["10.96.0.10", "8.8.8.8"],
                                    "searches": ["svc.cluster.local", "extra.example"],
                                    "options": [{"name": "ndots", "value": "1"}, {"name": "single-request-reopen"}]}})
    assert config.nameservers == ("10.96.0.10", "8.8.8.8")
    assert config.searches == ("default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
                               "extra.example")
    assert config.options == ("ndots:1", "single-request-reopen")
    default = conf({"dnsPolicy": "Default", "dnsConfig": {"options": [{"name": "timeout", "value": "5"}]}})[0]
    assert default.options == ("ndots:0", "timeout:5")


def test_more_than_three_nameservers_are_cut_with_an_event() -> None:
    config, warnings = conf({"dnsConfig": {"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3"]}})
    assert config.nameservers == ("10.96.0.10", "1.1.1.1", "2.2.2.2")
    assert [(w.reason, w.message) for w in warnings] == [(
        "DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                            "nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2")]


def test_search_limits_count_length_and_total() -> None:
    many = [f"d{i}.example" for i in range(40)]
    config, warnings = conf({"dnsPolicy": "None", "dnsConfig": {"searches": many}})
    assert config.searches == tuple(many[:32])
    assert warnings[0].message == ("Search Line limits were exceeded, some search paths have been omitted, the "
                                   "applied search line is: " + " ".join(many[:32]))
    long = "a" * 254
    config, warnings = conf({"dnsPolicy": "None", "dnsConfig": {"searches": ["ok.example", long]}})
    assert config.searches == ("ok.example",) and len(warnings) == 1
    big = [("x" * 60 + f".d{i:02d}") for i in range(32)]          # 64 chars each: 32*65-1 = 2079 > 2048
    config, _ = conf({"dnsPolicy": "None", "dnsConfig": {"searches": big}})
    assert config.searches == tuple(big[:31]) and len(" ".join(config.searches)) <= 2048


def test_kubelet_records_the_warning_as_an_event_on_the_pod() -> None:
    manifests = load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: chatty}\nspec:\n"
                          "  containers: [{name: a, image: x}]\n  dnsConfig:\n"
                          "    nameservers: [1.1.1.1, 2.2.2.2, 3.3.3.3]\n")
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), manifests)
    events = [e for e in cluster.store.list("Event", "default") if e.reason == "DNSConfigForming"]
    assert len(events) == 1
    (event,) = events
    assert event.type == "Warning" and event.involved_object["name"] == "chatty"
    assert event.get("source.component") == "kubelet"
    assert event.message.endswith("the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2")


def test_the_nodes_resolv_conf_from_the_topology() -> None:
    base = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    kind = topology_from_dict(base)
    assert node_resolv_conf(kind) == "nameserver 172.18.0.1\noptions ndots:0\n"
    searched = topology_from_dict({**base, "networking": {"dnsSearch": ["corp.example"]}})
    assert node_resolv_conf(searched).startswith("search corp.example\n")
    given = topology_from_dict({**base, "netsim": {"nodeResolvConf": "nameserver 9.9.9.9\nsearch a.example b.\n"}})
    assert parse_resolv_conf(node_resolv_conf(given)) == DnsConfig(("9.9.9.9",), ("a.example", "b"), ())
    text, _ = pod_resolv_conf(pod({"dnsPolicy": "Default"}), given)
    assert text == "search a.example b\nnameserver 9.9.9.9\n"


def test_parse_resolv_conf_as_kubelet_does() -> None:
    parsed = parse_resolv_conf("# c\nnameserver 1.1.1.1\nsearch a.example. .\nnameserver 2.2.2.2\n"
                               "search b.example\noptions ndots:1 timeout:3\noptions ndots:2\n")
    assert parsed == DnsConfig(("1.1.1.1", "2.2.2.2"), ("b.example",), ("ndots:2", "timeout:3"))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_domains = st.lists(st.text("abcdefghij.", min_size=1, max_size=300).filter(lambda d: d.strip(".")),
                    max_size=40)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["ClusterFirst", "Default", "None"]), _domains,
       st.lists(st.sampled_from(["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "10.96.0.10"]), max_size=5))
def test_kubelets_output_always_fits_its_limits(policy, searches, servers) -> None:
    config, warnings = conf({"dnsPolicy": policy, "dnsConfig": {"searches": searches, "nameservers": servers}})
    assert len(config.nameservers) <= 3 and len(config.searches) <= 32
    assert all(len(s) <= 253 for s in config.searches) and len(" ".join(config.searches)) <= 2048
    assert len(set(config.searches)) == len(config.searches) and len(set(config.nameservers)) == len(config.nameservers)
    base_search = {"ClusterFirst": ("default.svc.cluster.local", "svc.cluster.local", "cluster.local",
                                    "corp.example"), "Default": ("corp.example",), "None": ()}[policy]
    base_servers = {"ClusterFirst": ("10.96.0.10",), "Default": ("172.18.0.1",), "None": ()}[policy]
    wanted_search = tuple(dict.fromkeys(base_search + tuple(searches)))
    wanted_servers = tuple(dict.fromkeys(base_servers + tuple(servers)))
    cut = config.searches != wanted_search or config.nameservers != wanted_servers
    assert bool(warnings) == cut          # an event exactly when kubelet had to cut something
