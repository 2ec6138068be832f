"""The Gateway API conformance suite's HTTPRoute matching cases (tests/l7/data/gateway_conformance.yaml), each request
sent as packets from the external client through the emulated Envoy Gateway proxy to the echo-basic backends."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.ingress import curl

ROOT = Path(__file__).resolve().parents[2]
DATA = yaml.safe_load((Path(__file__).parent / "data/gateway_conformance.yaml").read_text())
NS = "gateway-conformance-infra"


def infra() -> list[dict]:
    """The conformance base: its namespace, three echo backends, Envoy Gateway's class, the same-namespace Gateway."""
    out: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                       {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
                        "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
                       {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                        "metadata": {"name": "same-namespace", "namespace": NS},
                        "spec": {"gatewayClassName": "eg", "listeners": [
                            {"name": "http", "port": 80, "protocol": "HTTP",
                             "allowedRoutes": {"namespaces": {"from": "Same"}}}]}}]
    for name in ("infra-backend-v1", "infra-backend-v2", "infra-backend-v3"):
        labels = {"app": name}
        out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
                    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                 {"name": "echo", "image": "gcr.io/k8s-staging-gateway-api/echo-basic",
                                  "ports": [{"containerPort": 3000}]}]}}}})
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                    "spec": {"selector": labels, "ports": [{"port": 8080, "targetPort": 3000}]}})
    return out


def routes(test: dict) -> list[dict]:
    """The test's HTTPRoutes, each rule's `backend` as a backendRef on port 8080."""
    out = []
    for r in test["routes"]:
        spec: dict = {"parentRefs": [{"name": "same-namespace"}],
                      "rules": [{"matches": rule["matches"], "backendRefs": [{"name": rule["backend"], "port": 8080}]}
                                for rule in r["rules"]]}
        if r.get("hostnames"):
            spec["hostnames"] = r["hostnames"]
        out.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                    "metadata": {"name": r["name"], "namespace": NS}, "spec": spec})
    return out


@functools.lru_cache(maxsize=None)
def emulator_for(test_name: str) -> Emulator:
    test = next(t for t in DATA if t["test"] == test_name)
    text = yaml.safe_dump_all(infra() + routes(test))
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"), load_text(text, test_name), seed=0)
    return Emulator(cluster)


CASES = [(t["test"], i, c) for t in DATA for i, c in enumerate(t["cases"])]


@pytest.mark.parametrize("test_name,index,case", CASES, ids=[f"{t}-{i}" for t, i, _ in CASES])
def test_conformance_case(test_name: str, index: int, case: dict) -> None:
    emulator = emulator_for(test_name)
    address = emulator.cluster.store.list("Service", "envoy-gateway-system")[0].load_balancer_ips[0]
    headers = tuple((k, str(v)) for k, v in (case.get("headers") or {}).items())
    if case.get("host"):
        headers = (("Host", case["host"]),) + headers
    result = curl(emulator, f"http://{address}{case['path']}", "external", headers, case.get("method", "GET"))
    assert result.response is not None, result.error
    if "status" in case:
        assert result.response.status == case["status"]
        return
    assert result.response.status == 200
    if case.get("method") == "HEAD":
        return
    body = json.loads(result.response.body)
    assert body["namespace"] == NS and body["pod"].startswith(case["backend"] + "-"), body["pod"]
    assert body["path"] == case["path"].split("#")[0]
