"""Gateway API end to end (cluster/gateway-split/): Envoy Gateway's proxy pod for Gateway default/eg, an 80/20 weighted
HTTPRoute split (Monte Carlo), filters, a TCPRoute, a cross-namespace backend refused without a ReferenceGrant and
allowed with one, and the status conditions the controller writes — requests sent as packets, pods read from the
answers and the pcaps."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from ipaddress import ip_address
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet, capture_file_name
from netsim.emulator.addons import reconcile_gateway_status
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.ingress import TcpConnection, curl, proxy_apps
from netsim.packet import Packet, Proto

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "cluster/gateway-split"
HAVE_TSHARK = shutil.which("tshark") is not None
GRANT = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
         "metadata": {"name": "from-default-routes", "namespace": "other"},
         "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
                  "to": [{"group": "", "kind": "Service", "name": "shared"}]}}


def build() -> Emulator:
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    cluster = Cluster.build(topology, [m for m in load_paths([FOLDER]) if m.obj.kind != "Scenario"], seed=0)
    reconcile_gateway_status(cluster.store)
    return Emulator(cluster)


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return build()


def gateway_ip(emulator) -> str:
    return emulator.cluster.store.get("Gateway", "eg", "default").status["addresses"][0]["value"]


def get(emulator, path: str, host: str, headers=()):
    return curl(emulator, f"http://{gateway_ip(emulator)}{path}", "external", (("Host", host),) + tuple(headers))


def app_of(emulator, pod: str) -> str:
    return next(p.labels["app"] for p in emulator.cluster.store.list("Pod") if p.name == pod)


def test_weighted_split_within_tolerance(emulator) -> None:
    n = 400
    apps = [app_of(emulator, json.loads(get(emulator, "/", "split.example.com").response.body)["pod"])
            for _ in range(n)]
    share = apps.count("v1") / n
    sigma = math.sqrt(0.8 * 0.2 / n)
    assert abs(share - 0.8) < 4 * sigma, share          # 80/20 by weight, within four standard deviations
    assert set(apps) == {"v1", "v2"}
    pods = {json.loads(get(emulator, "/", "split.example.com").response.body)["pod"] for _ in range(40)}
    assert len([p for p in pods if app_of(emulator, p) == "v1"]) == 2   # both v1 pods take traffic


def test_header_modifier_redirect_and_rewrite(emulator) -> None:
    r = get(emulator, "/headers", "filters.example.com", (("X-Remove", "gone"), ("X-Add", "orig")))
    body = json.loads(r.response.body)
    assert app_of(emulator, body["pod"]) == "v2"
    assert body["headers"]["X-Set"] == ["set-value"] and body["headers"]["X-Add"] == ["orig,added"]
    assert "X-Remove" not in body["headers"]
    r = get(emulator, "/old/page?q=1", "filters.example.com")
    assert r.response.status == 301 and r.response.header("location") == "http://new.example.com/new/page?q=1"
    assert r.legs[0].upstream is None
    r = get(emulator, "/api/v1/users", "filters.example.com")
    body = json.loads(r.response.body)
    assert body["path"] == "/v1/users" and app_of(emulator, body["pod"]) == "v1"


def test_no_route_is_404(emulator) -> None:
    r = get(emulator, "/", "unknown.example.com")
    assert r.response.status == 404 and r.response.body == b""


def test_tcproute_relays_bytes_to_the_backend(emulator) -> None:
    sender = emulator.external_sender()
    conn = TcpConnection(emulator.network, sender.host, sender.address, emulator.ephemeral_port(sender.host),
                         ip_address(gateway_ip(emulator)), 9000)
    assert conn.connect()
    assert conn.send(b"ping over tcp") == b"ping over tcp"
    conn.close()
    apps = [a for a in proxy_apps(emulator.network) if "listener tcp" in a.name]
    leg = apps[0].log[-1]
    assert leg.decision.startswith("tcproute default/raw -> service default/raw:9000")
    assert leg.endpoint.pod.startswith("default/raw-")


def test_udproute_relays_datagrams(emulator) -> None:
    sender = emulator.external_sender()
    sport = emulator.ephemeral_port(sender.host)
    result = emulator.network.send(sender.host, Packet(sender.address, ip_address(gateway_ip(emulator)), Proto.UDP,
                                                       sport, 5300, payload=b"datagram"))
    answers = [p for p in result.received if p.proto == Proto.UDP and p.dport == sport]
    assert [a.payload for a in answers] == [b"datagram"] and str(answers[0].src) == gateway_ip(emulator)
    (app,) = [a for a in proxy_apps(emulator.network) if "listener udp" in a.name]
    assert app.log[-1].endpoint.pod.startswith("default/udp-echo-")


def test_cross_namespace_needs_a_reference_grant() -> None:
    emulator = build()
    store = emulator.cluster.store
    refused = get(emulator, "/", "cross.example.com")
    assert refused.response.status == 500 and refused.legs[0].decision.endswith("RefNotPermitted")
    status = store.get("HTTPRoute", "cross", "default").status["parents"][0]
    resolved = next(c for c in status["conditions"] if c["type"] == "ResolvedRefs")
    assert (resolved["status"], resolved["reason"]) == ("False", "RefNotPermitted")
    store.create(GRANT)
    reconcile_gateway_status(store)
    allowed = get(emulator, "/", "cross.example.com")
    assert allowed.response.status == 200
    body = json.loads(allowed.response.body)
    assert body["namespace"] == "other" and body["pod"].startswith("shared-")
    status = store.get("HTTPRoute", "cross", "default").status["parents"][0]
    assert [c["status"] for c in status["conditions"]] == ["True", "True"]


def test_status_conditions(emulator) -> None:
    store = emulator.cluster.store
    gc = store.get("GatewayClass", "eg")
    assert [(c["type"], c["status"]) for c in gc.status["conditions"]] == [("Accepted", "True")]
    gw = store.get("Gateway", "eg", "default")
    assert [(c["type"], c["status"]) for c in gw.status["conditions"]] == [("Accepted", "True"), ("Programmed", "True")]
    attached = {entry["name"]: entry["attachedRoutes"] for entry in gw.status["listeners"]}
    assert attached == {"http": 3, "tcp": 1, "udp": 1}
    split = store.get("HTTPRoute", "split", "default").status["parents"][0]
    assert split["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    assert [(c["type"], c["status"], c["reason"]) for c in split["conditions"]] == \
        [("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs")]
    before = store.resource_version
    reconcile_gateway_status(store)          # nothing changed: nothing is written
    assert store.resource_version == before


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed")
def test_both_legs_in_the_pcaps(emulator, tmp_path) -> None:
    em = Emulator(emulator.cluster, CaptureSet(tmp_path))
    result = get(em, "/api/v1/x", "filters.example.com")
    em.close()
    (leg,) = result.legs
    proxy = leg.upstream.walks[0].steps_of(0)[0].host
    out = subprocess.run(["tshark", "-r", str(tmp_path / capture_file_name(proxy)), "-Y", "http.request", "-T",
                          "fields", "-E", "separator=|", "-e", "ip.dst", "-e", "http.request.uri", "-e",
                          "http.x_forwarded_for"], capture_output=True, text=True, check=True).stdout.splitlines()
    client = str(em.cluster.topology.node_gateway)
    assert out == [f"{em.cluster.store.get('Pod', proxy.split('/')[1], 'envoy-gateway-system').pod_ip}|/api/v1/x|",
                   f"{leg.endpoint.address}|/v1/x|{client}"]
