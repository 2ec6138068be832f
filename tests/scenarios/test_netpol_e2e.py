"""The Kubernetes NetworkPolicy e2e suite's cases, ported as data and run as packets through netsim's dataplane.

Each case is one `ginkgo.It` of kubernetes test/e2e/network/netpol/network_policy.go:
the policies it creates in the x/y/z x a/b/c model (netsim/verify/netpol_model.py)
and, per probed port and protocol, the truth table it expects, built the way
the suite builds it (reachability.go): start from all-true, then `ExpectPeer`
/ `Expect` / `ExpectAllIngress` / `ExpectAllEgress`. The observed table is
probed through each pod's Service, as the suite does, so every policy is
judged on pod IPs after kube-proxy's DNAT. On a mismatch the assertion prints
the expected, observed and comparison tables in the suite's format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from netsim.api.load import load_text
from netsim.api.store import Store
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.verify.netpol_model import TruthTable, expected_table, model_manifests, model_pod_names, observe_table

ROOT = Path(__file__).resolve().parents[2]
ALL = model_pod_names()
X, Y, Z = "x", "y", "z"


# --- reachability.go's Expect helpers, over (from, to) changes ----------------------------------------
def _matches(item: str, ns: str | None, pod: str | None) -> bool:
    item_ns, item_pod = item.split("/")
    return (ns is None or ns == item_ns) and (pod is None or pod == item_pod)


def peer(src: tuple[str | None, str | None], dst: tuple[str | None, str | None], value: bool) -> dict:
    """ExpectPeer(&Peer{Namespace, Pod}, &Peer{...}, value): empty fields match every pod."""
    return {(a, b): value for a in ALL if _matches(a, *src) for b in ALL if _matches(b, *dst)}


ANY = (None, None)


def ns(name: str) -> tuple[str, None]:
    return (name, None)


def pod(namespace: str, name: str) -> tuple[str, str]:
    return (namespace, name)


def netpol(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


POD_A = {"matchLabels": {"pod": "a"}}


@dataclass(frozen=True)
class Probe:
    """One ValidateOrFail: port, protocol, and the expectation as changes to an all-`default` table."""

    port: int
    protocol: str
    changes: tuple[dict, ...] = ()
    default: bool = True

    def expected(self) -> TruthTable:
        merged: dict = {}
        for change in self.changes:
            merged.update(change)
        return expected_table(ALL, self.default, merged)


@dataclass(frozen=True)
class Case:
    """One It(): its name in network_policy.go, the policies (or a function of the store making them), the probes."""

    name: str
    policies: Callable[[Store], list[dict]]
    probes: tuple[Probe, ...] = field(default_factory=tuple)


def fixed(*policies: dict) -> Callable[[Store], list[dict]]:
    return lambda store: list(policies)


def _except_policy(store: Store) -> list[dict]:
    """x/a may reach the /4 around x/b's address except x/b itself (the suite computes it from the pod IP)."""
    ip = store.get("Pod", "b", X).pod_ip
    return [netpol("deny-client-a-via-except-cidr-egress-rule", X, {
        "podSelector": POD_A, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": f"{ip}/4", "except": [f"{ip}/32"]}}]}]})]


def _cidr_policy(store: Store) -> list[dict]:
    """x/a may reach only its own namespace's pods, named by a /32 each (allow-client-a-via-cidr-egress-rule)."""
    blocks = [{"ipBlock": {"cidr": f"{store.get('Pod', p, X).pod_ip}/32"}} for p in ("b", "c")]
    return [netpol("allow-client-a-via-cidr-egress-rule", X, {
        "podSelector": POD_A, "policyTypes": ["Egress"], "egress": [{"to": blocks}]})]


CASES = (
    Case("should support a 'default-deny-ingress' policy",
         fixed(netpol("deny-ingress", X, {"podSelector": {}, "policyTypes": ["Ingress"]})),
         (Probe(80, "TCP", (peer(ANY, ns(X), False),)),)),
    Case("should support a 'default-deny-all' policy",
         fixed(netpol("deny-all", X, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})),
         (Probe(80, "TCP", (peer(ANY, ns(X), False), peer(ns(X), ANY, False))),
          Probe(81, "UDP", (peer(ANY, ns(X), False), peer(ns(X), ANY, False))))),
    Case("should enforce policy to allow traffic from pods within server namespace based on PodSelector",
         fixed(netpol("x-a-allows-x-b", X, {"podSelector": POD_A,
                                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}]})),
         (Probe(80, "TCP", (peer(ANY, pod(X, "a"), False), peer(pod(X, "b"), pod(X, "a"), True))),)),
    Case("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
         fixed(netpol("allow-client-a-via-ns-selector", X, {
             "podSelector": POD_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": Y}}}]}]})),
         (Probe(80, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))),)),
    Case("should enforce policy based on PodSelector with MatchExpressions",
         fixed(netpol("x-a-allows-x-b", X, {"podSelector": POD_A, "ingress": [{"from": [{"podSelector": {
             "matchExpressions": [{"key": "pod", "operator": "In", "values": ["b"]}]}}]}]})),
         (Probe(80, "TCP", (peer(ANY, pod(X, "a"), False), peer(pod(X, "b"), pod(X, "a"), True))),)),
    Case("should enforce policy based on NamespaceSelector with MatchExpressions",
         fixed(netpol("allow-ns-y-match-selector", X, {"podSelector": POD_A, "ingress": [{"from": [{
             "namespaceSelector": {"matchExpressions": [{"key": "ns", "operator": "In", "values": [Y]}]}}]}]})),
         (Probe(80, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))),)),
    Case("should enforce policy based on PodSelector or NamespaceSelector",          # two peers: OR
         fixed(netpol("allow-ns-y-match-selector", X, {"podSelector": POD_A, "ingress": [{"from": [
             {"namespaceSelector": {"matchExpressions": [{"key": "ns", "operator": "NotIn", "values": [X]}]}},
             {"podSelector": {"matchExpressions": [{"key": "pod", "operator": "NotIn", "values": ["a"]}]}}]}]})),
         (Probe(80, "TCP", ({("x/a", "x/a"): False},)),)),
    Case("should enforce policy based on PodSelector and NamespaceSelector",         # one peer: AND
         fixed(netpol("allow-ns-y-podselector-and-nsselector", X, {"podSelector": POD_A, "ingress": [{"from": [{
             "namespaceSelector": {"matchExpressions": [{"key": "ns", "operator": "NotIn", "values": [X]}]},
             "podSelector": {"matchExpressions": [{"key": "pod", "operator": "In", "values": ["b", "c"]}]}}]}]})),
         (Probe(80, "TCP", (peer(ANY, pod(X, "a"), False),
                            peer(pod(Y, "b"), pod(X, "a"), True), peer(pod(Y, "c"), pod(X, "a"), True),
                            peer(pod(Z, "b"), pod(X, "a"), True), peer(pod(Z, "c"), pod(X, "a"), True))),)),
    Case("should enforce policy based on Ports",
         fixed(netpol("allow-ingress-on-port-81-ns-x", X, {"podSelector": POD_A, "ingress": [{
             "from": [{"namespaceSelector": {"matchLabels": {"ns": Y}}}], "ports": [{"port": 81}]}]})),
         (Probe(81, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))),
          Probe(80, "TCP", (peer(ANY, pod(X, "a"), False),)))),
    Case("should enforce multiple, stacked policies with overlapping podSelectors",   # the union of allows
         fixed(netpol("allow-ingress-on-port-81-ns-x", X, {"podSelector": POD_A, "ingress": [{
             "from": [{"namespaceSelector": {"matchLabels": {"ns": Y}}}], "ports": [{"port": 81}]}]}),
               netpol("allow-ingress-on-port-80-ns-x", X, {"podSelector": POD_A, "ingress": [{
                   "from": [{"namespaceSelector": {"matchLabels": {"ns": Y}}}], "ports": [{"port": 80}]}]})),
         (Probe(80, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))),
          Probe(81, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))))),
    Case("should support allow-all policy",
         fixed(netpol("allow-all", X, {"podSelector": {}, "ingress": [{}]})),
         (Probe(80, "TCP"), Probe(81, "TCP"))),
    Case("should allow ingress access on one named port",
         fixed(netpol("allow-all", X, {"podSelector": {}, "ingress": [{"ports": [{"port": "serve-81-tcp"}]}]})),
         (Probe(81, "TCP"), Probe(80, "TCP", (peer(ANY, ns(X), False),)))),
    Case("should allow ingress access from namespace on one named port",
         fixed(netpol("allow-client-in-ns-y-on-port-80", X, {"podSelector": {}, "ingress": [{
             "from": [{"namespaceSelector": {"matchLabels": {"ns": Y}}}], "ports": [{"port": "serve-80-tcp"}]}]})),
         (Probe(80, "TCP", (peer(ns(X), ns(X), False), peer(ns(Z), ns(X), False))),
          Probe(81, "TCP", (peer(ANY, ns(X), False),)))),
    Case("should allow egress access on one named port",
         fixed(netpol("allow-egress", X, {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "serve-80-tcp"}]}]})),
         (Probe(80, "TCP"), Probe(81, "TCP", (peer(ns(X), ANY, False),)))),
    Case("should enforce egress policy allowing traffic to a server in a different namespace based on "
         "PodSelector and NamespaceSelector",
         fixed(netpol("allow-to-ns-y-pod-a", X, {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [{"to": [{
             "namespaceSelector": {"matchLabels": {"ns": Y}}, "podSelector": {"matchLabels": {"pod": "a"}}}]}]})),
         (Probe(80, "TCP", (peer(pod(X, "a"), ANY, False), peer(pod(X, "a"), pod(Y, "a"), True))),)),
    Case("should enforce except clause while egress access to server in CIDR block",
         _except_policy,
         (Probe(80, "TCP", (peer(pod(X, "a"), pod(X, "b"), False),)),)),
    Case("should enforce policy to allow traffic based on CIDR block (egress to /32s)",
         _cidr_policy,
         (Probe(80, "TCP", (peer(pod(X, "a"), ANY, False), peer(pod(X, "a"), pod(X, "b"), True),
                            peer(pod(X, "a"), pod(X, "c"), True))),)),
    Case("should enforce ingress policy allowing any port traffic to a server on a specific protocol",
         fixed(netpol("allow-ingress-by-proto", X, {"podSelector": POD_A, "ingress": [{"ports": [{"protocol": "TCP"}]}]})),
         (Probe(80, "TCP"), Probe(81, "TCP"), Probe(80, "UDP", (peer(ANY, pod(X, "a"), False),)))),
    Case("should not allow access by TCP when a policy specifies only UDP",
         fixed(netpol("allow-only-udp-ingress-on-port-81", X, {"podSelector": POD_A, "ingress": [{
             "ports": [{"port": 81, "protocol": "UDP"}]}]})),
         (Probe(81, "TCP", (peer(ANY, pod(X, "a"), False),)), Probe(81, "UDP"))),
    Case("should enforce policies to check ingress and egress policies can be controlled independently based on "
         "PodSelector",
         fixed(netpol("allow-egress-for-target", X, {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [{}]}),
               netpol("deny-ingress-via-label-selector", X, {"podSelector": {"matchLabels": {"pod": "b"}},
                                                              "policyTypes": ["Ingress"]})),
         (Probe(80, "TCP", (peer(ANY, pod(X, "b"), False),)),)),
    Case("should support denying of egress traffic on the client side (even if the server explicitly allows this "
         "traffic)",
         fixed(netpol("allow-to-ns-y-z-pod-a", X, {"podSelector": POD_A, "policyTypes": ["Egress"], "egress": [{"to": [{
             "namespaceSelector": {"matchExpressions": [{"key": "ns", "operator": "NotIn", "values": [X]}]},
             "podSelector": {"matchLabels": {"pod": "a"}}}]}]}),
               netpol("allow-from-xa-on-ya-match-selector", Y, {"podSelector": POD_A, "ingress": [{"from": [{
                   "namespaceSelector": {"matchLabels": {"ns": X}}, "podSelector": {"matchLabels": {"pod": "a"}}}]}]}),
               netpol("allow-from-xa-on-yb-match-selector", Y, {"podSelector": {"matchLabels": {"pod": "b"}},
                                                               "ingress": [{"from": [{
                   "namespaceSelector": {"matchLabels": {"ns": X}}, "podSelector": {"matchLabels": {"pod": "a"}}}]}]})),
         (Probe(80, "TCP", (peer(pod(X, "a"), ANY, False), peer(pod(X, "a"), pod(Y, "a"), True),
                            peer(pod(X, "a"), pod(Z, "a"), True),
                            peer(ANY, pod(Y, "a"), False), peer(pod(X, "a"), pod(Y, "a"), True),
                            peer(ANY, pod(Y, "b"), False))),)),
)


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    return Cluster.build(topology, load_text(yaml.safe_dump_all(model_manifests()), "model.yaml"), seed=0)


def _report(expected: TruthTable, observed: TruthTable) -> str:
    wrong = sum(1 for v in expected.compare(observed).values.values() if not v)
    return (f"reachability: incorrect:{wrong}\n\nexpected:\n\n{expected.pretty()}\n\n\nobserved:\n\n"
            f"{observed.pretty()}\n\n\ncomparison:\n\n{expected.compare(observed).pretty()}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_e2e_truth_table(cluster: Cluster, case: Case) -> None:
    store = cluster.store
    created = [store.create(p) for p in case.policies(store)]
    try:
        emulator = Emulator(cluster)
        for probe in case.probes:
            expected = probe.expected()
            observed = observe_table(emulator, ALL, probe.port, probe.protocol)
            assert observed == expected, f"{probe.port}/{probe.protocol}\n" + _report(expected, observed)
    finally:
        for obj in created:
            store.delete("NetworkPolicy", obj.name, obj.namespace)


def test_no_policy_allows_everything(cluster: Cluster) -> None:
    """Without a policy no pod is isolated (the suite's baseline before each test)."""
    emulator = Emulator(cluster)
    assert observe_table(emulator, ALL, 80, "TCP") == expected_table(ALL, True)


def test_pretty_print_is_the_suites_format() -> None:
    table = expected_table(("x/a", "x/b"), True, {("x/a", "x/b"): False})
    assert table.pretty() == "-\tx/a\tx/b\nx/a\t.\tX\nx/b\t.\t."


def _check(cluster: Cluster, probe: Probe) -> None:
    expected = probe.expected()
    observed = observe_table(Emulator(cluster), ALL, probe.port, probe.protocol)
    assert observed == expected, f"{probe.port}/{probe.protocol}\n" + _report(expected, observed)


def test_e2e_should_stop_enforcing_policies_after_they_are_deleted(cluster: Cluster) -> None:
    store = cluster.store
    store.create(netpol("deny-all", X, {"podSelector": {}, "policyTypes": ["Ingress"]}))
    try:
        _check(cluster, Probe(80, "TCP", (peer(ANY, ns(X), False),)))
    finally:
        store.delete("NetworkPolicy", "deny-all", X)
    _check(cluster, Probe(80, "TCP"))


def test_e2e_should_allow_ingress_access_from_updated_namespace(cluster: Cluster) -> None:
    store = cluster.store
    store.create(netpol("allow-client-a-via-ns-selector", X, {"podSelector": POD_A, "ingress": [{"from": [
        {"namespaceSelector": {"matchLabels": {"ns2": "updated"}}}]}]}))
    try:
        _check(cluster, Probe(80, "TCP", (peer(ANY, pod(X, "a"), False),)))
        store.patch("Namespace", Y, "", {"metadata": {"labels": {"ns2": "updated"}}})
        _check(cluster, Probe(80, "TCP", (peer(ns(X), pod(X, "a"), False), peer(ns(Z), pod(X, "a"), False))))
    finally:
        store.patch("Namespace", Y, "", {"metadata": {"labels": {"ns2": None}}})
        store.delete("NetworkPolicy", "allow-client-a-via-ns-selector", X)


def test_e2e_should_allow_ingress_access_from_updated_pod(cluster: Cluster) -> None:
    store = cluster.store
    store.create(netpol("allow-client-a-via-pod-selector", X, {"podSelector": POD_A, "ingress": [{"from": [
        {"podSelector": {"matchLabels": {"pod": "b", "pod2": "updated"}}}]}]}))
    try:
        _check(cluster, Probe(80, "TCP", (peer(ANY, pod(X, "a"), False),)))
        store.patch("Pod", "b", X, {"metadata": {"labels": {"pod2": "updated"}}})
        _check(cluster, Probe(80, "TCP", (peer(ANY, pod(X, "a"), False), peer(pod(X, "b"), pod(X, "a"), True))))
    finally:
        store.patch("Pod", "b", X, {"metadata": {"labels": {"pod2": None}}})
        store.delete("NetworkPolicy", "allow-client-a-via-pod-selector", X)


def test_e2e_should_deny_ingress_access_to_updated_pod(cluster: Cluster) -> None:
    store = cluster.store
    store.create(netpol("deny-ingress-via-label-selector", X, {
        "podSelector": {"matchLabels": {"target": "isolated"}}, "policyTypes": ["Ingress"]}))
    try:
        _check(cluster, Probe(80, "TCP"))
        store.patch("Pod", "a", X, {"metadata": {"labels": {"target": "isolated"}}})
        _check(cluster, Probe(80, "TCP", (peer(ANY, pod(X, "a"), False),)))
    finally:
        store.patch("Pod", "a", X, {"metadata": {"labels": {"target": None}}})
        store.delete("NetworkPolicy", "deny-ingress-via-label-selector", X)
