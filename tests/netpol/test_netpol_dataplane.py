"""Each NetworkPolicy rule, as packets through the emulated nodes' filter tables (kube-router-style chains).

The cluster: namespace `web` (label team=web) with pod `a` on kind-worker
(TCP 80 named `http`, TCP 81, UDP 53 named `dns`, SCTP 82) and pod `b` on
kind-worker2 (TCP 80, TCP 81 named `http`); namespace `cli` (label team=cli)
with clients `near` (kind-worker, beside `a`) and `far` (kind-worker2); a
hostNetwork pod `host` in `cli` on kind-worker2 serving TCP 9000; Service
`web/svc-a` port 8080 -> targetPort 80 of `a`. Every test creates its
policies, builds the network from the api state, probes, and deletes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path

import pytest
import yaml

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.dataplane.trace import Outcome
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.emulator.wiring import node_ruleset
from netsim.netpol.rules import node_filter_rules
from netsim.packet import Packet, Proto
from netsim.verify.observe import observe, pods_by_host

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.52"


def _pod(name: str, ns: str, node: str, ports: list[dict], labels: dict, host_network: bool = False) -> dict:
    spec = {"nodeName": node, "containers": [{"name": "main", "image": IMAGE, "ports": ports}]}
    if host_network:
        spec["hostNetwork"] = True
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": spec}


MANIFESTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web", "labels": {"team": "web"}}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cli", "labels": {"team": "cli"}}},
    _pod("a", "web", "kind-worker", [{"containerPort": 80, "name": "http"}, {"containerPort": 81},
                                     {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                     {"containerPort": 82, "protocol": "SCTP"}], {"app": "a", "tier": "web"}),
    _pod("b", "web", "kind-worker2", [{"containerPort": 80}, {"containerPort": 81, "name": "http"}],
         {"app": "b", "tier": "web"}),
    _pod("near", "cli", "kind-worker", [{"containerPort": 80}], {"app": "near"}),
    _pod("far", "cli", "kind-worker2", [{"containerPort": 80}], {"app": "far"}),
    _pod("host", "cli", "kind-worker2", [{"containerPort": 9000}], {"app": "host"}, host_network=True),
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-a", "namespace": "web"},
     "spec": {"selector": {"app": "a"}, "ports": [{"port": 8080, "targetPort": 80}]}},
]


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                         load_text(yaml.safe_dump_all(MANIFESTS), "netpol.yaml"), seed=0)


@contextmanager
def policies(cluster: Cluster, *specs: tuple[str, str, dict]) -> Iterator[Emulator]:
    """Create the policies (name, namespace, spec), yield a network built from that state, delete them."""
    created = [cluster.store.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                     "metadata": {"name": n, "namespace": ns}, "spec": s}) for n, ns, s in specs]
    try:
        yield Emulator(cluster)
    finally:
        for obj in created:
            cluster.store.delete("NetworkPolicy", obj.name, obj.namespace)


def ok(emulator: Emulator, src: str, dst: str, protocol: str = "TCP") -> bool:
    """Whether one connection from pod `src` to `dst` (`pod/ns/name:port`, `service/...`) is answered."""
    conn = emulator.send(FlowSpec("probe", src, dst, protocol, 1))[0]
    o = observe(emulator.cluster.store, conn, 1, pods_by_host(emulator.cluster.store))
    return o.outcome is Outcome.DELIVERED and bool(o.reply)


def result(emulator: Emulator, src: str, dst: str, protocol: str = "TCP"):
    return emulator.send(FlowSpec("probe", src, dst, protocol, 1))[0].result


def rules_seen(walk) -> list[str]:
    return [t.rule for step in walk.steps for t in step.nf_trace if t.rule]


SELECT_A = {"podSelector": {"matchLabels": {"app": "a"}}}


def test_no_policy_no_isolation(cluster: Cluster) -> None:
    emulator = Emulator(cluster)
    assert ok(emulator, "pod/cli/far", "pod/web/a:81") and ok(emulator, "pod/web/a", "pod/cli/far:80")
    assert all(node_filter_rules(cluster.store, n.name).empty for n in cluster.store.list("Node"))


def test_pod_selector_isolates_only_selected_pods(cluster: Cluster) -> None:
    with policies(cluster, ("deny-a", "web", {**SELECT_A, "policyTypes": ["Ingress"]})) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:80")
        assert ok(e, "pod/cli/far", "pod/web/b:80")


def test_policy_types_default_to_ingress(cluster: Cluster) -> None:
    """No policyTypes and no egress rules: Ingress only — the selected pod still sends anywhere."""
    with policies(cluster, ("deny-a", "web", SELECT_A)) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:80")
        assert ok(e, "pod/web/a", "pod/cli/far:80")


def test_policy_types_default_adds_egress_when_egress_rules_exist(cluster: Cluster) -> None:
    """No policyTypes but egress rules: Ingress and Egress (the API server's defaulting)."""
    with policies(cluster, ("a-egress", "web", {**SELECT_A, "egress": [{"ports": [{"port": 80}]}]})) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:80")          # ingress isolated too, with no ingress rule
        assert ok(e, "pod/web/a", "pod/cli/far:80")
        assert not ok(e, "pod/web/a", "pod/web/b:81")


def test_explicit_egress_type_leaves_ingress_open(cluster: Cluster) -> None:
    with policies(cluster, ("a-no-egress", "web", {**SELECT_A, "policyTypes": ["Egress"]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:80")              # the reply is ESTABLISHED: egress never judges it
        assert not ok(e, "pod/web/a", "pod/cli/far:80")
        assert not ok(e, "pod/web/a", "pod/cli/near:80")         # same node: bridged, still FORWARD


def test_ingress_peers_pod_and_namespace_selectors(cluster: Cluster) -> None:
    only_cli_far = {"podSelector": {"matchLabels": {"app": "far"}},
                    "namespaceSelector": {"matchLabels": {"team": "cli"}}}
    with policies(cluster, ("and", "web", {**SELECT_A, "ingress": [{"from": [only_cli_far]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:80")
        assert not ok(e, "pod/cli/near", "pod/web/a:80")
        assert not ok(e, "pod/web/b", "pod/web/a:80")
    either = [{"podSelector": {"matchLabels": {"app": "b"}}}, {"namespaceSelector": {"matchLabels": {"team": "cli"}}}]
    with policies(cluster, ("or", "web", {**SELECT_A, "ingress": [{"from": either}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:80") and ok(e, "pod/cli/near", "pod/web/a:80")
        assert ok(e, "pod/web/b", "pod/web/a:80")


def test_pod_selector_peer_is_the_policys_namespace_only(cluster: Cluster) -> None:
    with policies(cluster, ("from-far", "web", {**SELECT_A, "ingress": [{"from": [
            {"podSelector": {"matchLabels": {"app": "far"}}}]}]})) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:80")   # `far` lives in cli, the policy in web


def test_namespace_selector_by_metadata_name_label(cluster: Cluster) -> None:
    with policies(cluster, ("from-cli", "web", {**SELECT_A, "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cli"}}}]}]})) as e:
        assert ok(e, "pod/cli/near", "pod/web/a:80")
        assert not ok(e, "pod/web/b", "pod/web/a:80")


def test_ip_block_with_except(cluster: Cluster) -> None:
    far = cluster.store.get("Pod", "far", "cli").pod_ip
    with policies(cluster, ("cidr", "web", {**SELECT_A, "ingress": [{"from": [
            {"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{far}/32"]}}]}]})) as e:
        assert ok(e, "pod/cli/near", "pod/web/a:80")
        assert not ok(e, "pod/cli/far", "pod/web/a:80")


def test_ports_by_number_and_protocol(cluster: Cluster) -> None:
    with policies(cluster, ("p81", "web", {**SELECT_A, "ingress": [{"ports": [{"port": 81}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:81")
        assert not ok(e, "pod/cli/far", "pod/web/a:80")
        assert not ok(e, "pod/cli/far", "pod/web/a:53", "UDP")
    with policies(cluster, ("udp", "web", {**SELECT_A, "ingress": [{"ports": [{"protocol": "UDP", "port": 53}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:53", "UDP")
        assert not ok(e, "pod/cli/far", "pod/web/a:81")


def test_sctp(cluster: Cluster) -> None:
    """SCTP to port 82 of `a`: allowed by an SCTP port rule, rejected by a TCP one (the trace names the rule)."""
    src, dst = cluster.store.get("Pod", "far", "cli").pod_ip, cluster.store.get("Pod", "a", "web").pod_ip
    with policies(cluster, ("sctp", "web", {**SELECT_A, "ingress": [{"ports": [{"protocol": "SCTP", "port": 82}]}]})) as e:
        walk = e.network.send("cli/far", Packet(ip_address(src), ip_address(dst), Proto.SCTP, 40000, 82))
        assert walk.outcome is Outcome.DELIVERED and walk.host == "web/a"
        assert any("-p sctp" in r and "--dport 82" in r for r in rules_seen(walk))
    with policies(cluster, ("tcp", "web", {**SELECT_A, "ingress": [{"ports": [{"protocol": "TCP", "port": 82}]}]})) as e:
        walk = e.network.send("cli/far", Packet(ip_address(src), ip_address(dst), Proto.SCTP, 40001, 82))
        assert walk.outcome is not Outcome.DELIVERED


def test_named_ports_resolve_per_pod(cluster: Cluster) -> None:
    """`http` is 80 in `a` and 81 in `b`: one rule allows a:80 and b:81, and neither other port."""
    with policies(cluster, ("named", "web", {"podSelector": {"matchLabels": {"tier": "web"}},
                                             "ingress": [{"ports": [{"port": "http"}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:80") and not ok(e, "pod/cli/far", "pod/web/a:81")
        assert ok(e, "pod/cli/near", "pod/web/b:81") and not ok(e, "pod/cli/near", "pod/web/b:80")
    with policies(cluster, ("named-udp", "web", {**SELECT_A, "ingress": [{"ports": [{"port": "dns",
                                                                                    "protocol": "UDP"}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:53", "UDP")


def test_named_ports_for_egress_resolve_on_the_destination(cluster: Cluster) -> None:
    with policies(cluster, ("egress-named", "cli", {"podSelector": {"matchLabels": {"app": "near"}},
                                                    "policyTypes": ["Egress"],
                                                    "egress": [{"ports": [{"port": "http"}]}]})) as e:
        assert ok(e, "pod/cli/near", "pod/web/a:80") and ok(e, "pod/cli/near", "pod/web/b:81")
        assert not ok(e, "pod/cli/near", "pod/web/a:81") and not ok(e, "pod/cli/near", "pod/web/b:80")


def test_end_port_ranges(cluster: Cluster) -> None:
    with policies(cluster, ("range", "web", {**SELECT_A, "ingress": [{"ports": [{"port": 81, "endPort": 90}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:81")
        assert not ok(e, "pod/cli/far", "pod/web/a:80")
    with policies(cluster, ("range2", "web", {**SELECT_A, "ingress": [{"ports": [{"port": 79, "endPort": 80}]}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:80") and not ok(e, "pod/cli/far", "pod/web/a:81")


def test_union_of_policies_and_rules(cluster: Cluster) -> None:
    with policies(cluster, ("p80", "web", {**SELECT_A, "ingress": [{"from": [
                      {"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": 80}]}]}),
                  ("p81", "web", {**SELECT_A, "ingress": [{"from": [
                      {"namespaceSelector": {"matchLabels": {"team": "cli"}}}], "ports": [{"port": 81}]}]})) as e:
        assert ok(e, "pod/web/b", "pod/web/a:80") and ok(e, "pod/cli/far", "pod/web/a:81")
        assert not ok(e, "pod/web/b", "pod/web/a:81") and not ok(e, "pod/cli/far", "pod/web/a:80")


def test_empty_rule_allows_all_and_empty_list_denies(cluster: Cluster) -> None:
    with policies(cluster, ("all", "web", {**SELECT_A, "ingress": [{}]})) as e:
        assert ok(e, "pod/cli/far", "pod/web/a:81")
    with policies(cluster, ("none", "web", {**SELECT_A, "ingress": []})) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:81")


def test_evaluated_on_pod_ports_after_service_dnat(cluster: Cluster) -> None:
    """The Service listens on 8080; the policy names the pod's port 80 and still matches (FORWARD after DNAT)."""
    with policies(cluster, ("p80", "web", {**SELECT_A, "ingress": [{"ports": [{"port": 80}]}]})) as e:
        assert ok(e, "pod/cli/far", "service/web/svc-a:8080")
        assert ok(e, "pod/cli/near", "service/web/svc-a:8080")       # same node, bridged
    with policies(cluster, ("p8080", "web", {**SELECT_A, "ingress": [{"ports": [{"port": 8080}]}]})) as e:
        assert not ok(e, "pod/cli/far", "service/web/svc-a:8080")


def test_same_node_bridged_traffic_is_filtered(cluster: Cluster) -> None:
    with policies(cluster, ("deny-a", "web", {**SELECT_A, "policyTypes": ["Ingress"]})) as e:
        walk = result(e, "pod/cli/near", "pod/web/a:80")
        assert walk.outcome is Outcome.REJECTED
        assert any("rule to REJECT traffic destined for POD name:a namespace: web" in r for r in rules_seen(walk))


def test_trace_names_the_allowing_rule(cluster: Cluster) -> None:
    with policies(cluster, ("from-b", "web", {**SELECT_A, "ingress": [{"from": [
            {"podSelector": {"matchLabels": {"app": "b"}}}]}]})) as e:
        walk = result(e, "pod/web/b", "pod/web/a:80")
        assert walk.outcome is Outcome.DELIVERED
        seen = rules_seen(walk)
        assert any("selected by policy name: from-b namespace web" in r and "MARK --set-xmark 0x10000/0x10000" in r
                   for r in seen)
        assert any("rule to explicitly ACCEPT traffic that comply to network policies" in r for r in seen)


def test_replies_pass_both_ways(cluster: Cluster) -> None:
    """a may only be reached; b may only reach — and every allowed connection's answer comes back."""
    with policies(cluster, ("a-in", "web", {**SELECT_A, "policyTypes": ["Ingress", "Egress"],
                                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}]}]}),
                  ("b-out", "web", {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress", "Egress"],
                                    "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]})) as e:
        assert ok(e, "pod/web/b", "pod/web/a:80")
        assert not ok(e, "pod/web/a", "pod/web/b:80")


def test_host_network_pods_are_not_selected_nor_peers(cluster: Cluster) -> None:
    with policies(cluster, ("deny-all-cli", "cli", {"podSelector": {}, "policyTypes": ["Ingress"]})) as e:
        assert not ok(e, "pod/web/a", "pod/cli/far:80")
        assert ok(e, "pod/web/a", "pod/cli/host:9000")             # the hostNetwork pod is not isolated
    with policies(cluster, ("from-host", "web", {**SELECT_A, "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"team": "cli"}}, "podSelector": {"matchLabels": {"app": "host"}}}]}]})) as e:
        assert not ok(e, "pod/cli/host", "pod/web/a:80")           # not a peer by selector ...
    node_ip = cluster.store.get("Node", "kind-worker2").internal_ip
    with policies(cluster, ("from-node", "web", {**SELECT_A, "ingress": [{"from": [
            {"ipBlock": {"cidr": f"{node_ip}/32"}}]}]})) as e:
        assert ok(e, "pod/cli/host", "pod/web/a:80")               # ... but its address is, by ipBlock


def test_rules_follow_label_changes(cluster: Cluster) -> None:
    with policies(cluster, ("from-trusted", "web", {**SELECT_A, "ingress": [{"from": [
            {"namespaceSelector": {}, "podSelector": {"matchLabels": {"trusted": "yes"}}}]}]})) as e:
        assert not ok(e, "pod/cli/far", "pod/web/a:80")
        cluster.store.patch("Pod", "far", "cli", {"metadata": {"labels": {"trusted": "yes"}}})
        try:
            e.rebuild()
            assert ok(e, "pod/cli/far", "pod/web/a:80")
        finally:
            cluster.store.patch("Pod", "far", "cli", {"metadata": {"labels": {"trusted": None}}})


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("iptables-restore") is None or shutil.which("ip") is None,
                    reason="loading into the kernel needs root, ip and iptables-restore")
def test_rendered_rules_load_with_iptables_restore(cluster: Cluster, tmp_path: Path) -> None:
    far = cluster.store.get("Pod", "far", "cli").pod_ip
    specs = (("mixed", "web", {"podSelector": {"matchLabels": {"tier": "web"}}, "policyTypes": ["Ingress", "Egress"],
                               "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{far}/32"]}},
                                                     {"namespaceSelector": {"matchLabels": {"team": "cli"}}}],
                                            "ports": [{"port": "http"}, {"port": 81, "endPort": 90},
                                                      {"protocol": "SCTP", "port": 82}, {"protocol": "UDP"}]}],
                               "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": "http"}]}]}),)
    with policies(cluster, *specs):
        text = node_ruleset(cluster, cluster.store.get("Node", "kind-worker"))
    assert "KUBE-SRC-" in text and "-p sctp -m comment" in text
    name = f"npX-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        loaded = subprocess.run(["ip", "netns", "exec", name, "iptables-restore"], input=text, text=True,
                                capture_output=True)
        assert loaded.returncode == 0, loaded.stderr
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def test_rendered_chains_are_all_declared_and_used(cluster: Cluster) -> None:
    """STYLE 12's structure check on the netpol part of the filter table: every jump lands on a declared chain
    that has rules, and every declared chain is jumped to."""
    specs = (("x", "web", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                           "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.244.2.0/24"]}}]}],
                           "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": "http"}]}]}),)
    with policies(cluster, *specs):
        for node in ("kind-worker", "kind-worker2"):
            netpol = node_filter_rules(cluster.store, node)
            declared = set(netpol.chains)
            jumps = {line.split(" -j ")[1].split()[0] for line in netpol.rules + tuple(
                r for rs in netpol.prepend.values() for r in rs)}
            targets = {j for j in jumps if j.startswith("KUBE-")}
            assert targets <= declared
            assert declared <= targets
            assert all(any(line.startswith(f"-A {c} ") for line in netpol.rules) for c in declared)
