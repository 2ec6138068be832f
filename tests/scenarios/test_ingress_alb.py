"""The cloud mode (topologies/three-node-alb.yaml, cluster/ingress-alb/): one emulated ALB per Ingress outside the
cluster, first-match rules, target-type ip straight to pod IPs and instance through the nodes' NodePort."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology, load_topology_text
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.errors import NetsimError
from netsim.emulator.ingress import curl, proxy_apps
from netsim.l7.alb import path_patterns, pattern_matches

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    topology = load_topology(ROOT / "topologies/three-node-alb.yaml")
    manifests = [m for m in load_paths([ROOT / "cluster/ingress-alb"]) if m.obj.kind != "Scenario"]
    return Emulator(Cluster.build(topology, manifests, seed=0))


def alb(emulator, ingress: str):
    return next(a for a in proxy_apps(emulator.network) if a.name.startswith(f"alb k8s-default-{ingress}-"))


def hosts_of(walk) -> list[str]:
    out: list[str] = []
    for step in walk.steps_of(0):
        if not out or out[-1] != step.host:
            out.append(step.host)
    return out


def test_one_alb_per_ingress_with_the_controllers_class(emulator) -> None:
    assert emulator.cluster.store.get("IngressClass", "alb").spec["controller"] == "ingress.k8s.aws/alb"
    assert sorted(str(a.address) for a in proxy_apps(emulator.network)) == ["172.18.255.253", "172.18.255.254"]
    assert emulator.cluster.store.try_get("Deployment", "ingress-nginx-controller", "ingress-nginx") is None


def test_target_type_ip_goes_straight_to_the_pod(emulator) -> None:
    lb = alb(emulator, "web")
    result = curl(emulator, f"http://{lb.address}/web/page", "external")
    body = json.loads(result.response.body)
    assert body["pod"].startswith("web-")
    (leg,) = result.legs
    assert "(target-type ip)" in leg.decision and leg.endpoint.port == 8080
    path = hosts_of(leg.upstream.walks[0])
    assert path[0] == lb.host and path[-1] == f"default/{body['pod']}" and len(path) == 3   # ALB, node, pod
    assert body["headers"]["X-Forwarded-For"] == ["172.18.0.1"]
    assert body["headers"]["X-Amzn-Trace-Id"][0].startswith("Root=1-")


def test_first_match_wins_not_the_longest(emulator) -> None:
    lb = alb(emulator, "web")
    body = json.loads(curl(emulator, f"http://{lb.address}/other", "external").response.body)
    assert body["pod"].startswith("api-")          # the catch-all `/` rule, listed after /web


def test_target_type_instance_goes_through_the_node_port(emulator) -> None:
    lb = alb(emulator, "api")
    result = curl(emulator, f"http://{lb.address}/v1", "external", (("Host", "api.example.com"),))
    (leg,) = result.legs
    node_port = emulator.cluster.store.get("Service", "api", "default").ports[0].node_port
    assert leg.endpoint.port == node_port and str(leg.endpoint.address).startswith("172.18.0.")
    assert any(s.detail.startswith("rewrote to ") and f":{node_port}" in s.summary
               for s in leg.upstream.walks[0].steps_of(0))                   # kube-proxy's NodePort DNAT
    assert json.loads(result.response.body)["pod"].startswith("api-")
    assert curl(emulator, f"http://{lb.address}/v1/x", "external",
                (("Host", "api.example.com"),)).response.status == 404     # Exact: a fixed 404
    assert curl(emulator, f"http://{lb.address}/v1", "external").response.status == 404   # host condition


def test_alb_patterns() -> None:
    assert path_patterns("/web", "Prefix") == ("/web", "/web/*") and path_patterns("/", "Prefix") == ("/*",)
    assert pattern_matches("/web/*", "/web/a/b") and not pattern_matches("/web/*", "/webx")
    assert pattern_matches("*.example.com", "a.b.example.com") and pattern_matches("/a?c", "/abc")


def test_ingress_controller_field_is_checked() -> None:
    text = (ROOT / "topologies/three-node-alb.yaml").read_text().replace("ingressController: alb",
                                                                          "ingressController: traefik")
    with pytest.raises(NetsimError, match="netsim.ingressController: unknown ingress controller"):
        load_topology_text(text)
