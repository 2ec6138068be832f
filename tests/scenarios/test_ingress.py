"""Ingress end to end (cluster/ingress-path/): the seed's path- and host-based figures through ingress-nginx's pod,
default backend, 404, 503, Exact vs Prefix, a TLS host's redirect — each request sent as packets by `curl`, the pods
reached read from the backends' answers and from the pcaps (tshark)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet, capture_file_name
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.ingress import curl
from netsim.l7.http import nginx_error_page

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "cluster/ingress-path"
HAVE_TSHARK = shutil.which("tshark") is not None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    manifests = [m for m in load_paths([FOLDER]) if m.obj.kind != "Scenario"]
    cluster = Cluster.build(topology, manifests, seed=0)
    emulator = Emulator(cluster)
    yield emulator, None


def lb(emulator) -> str:
    return emulator.cluster.store.get("Service", "ingress-nginx-controller", "ingress-nginx").load_balancer_ips[0]


def pods_of(emulator, app: str) -> set[str]:
    return {p.name for p in emulator.cluster.store.list("Pod", "default") if p.labels.get("app") == app}


# (what, path, Host header, status, the app whose pods answer — None: the controller answers itself)
ROWS = [
    ("path-based: /foo", "/foo/index.html", None, 200, "foo"),
    ("path-based: /bar", "/bar", None, 200, "bar"),
    ("Exact /exact", "/exact", None, 200, "bar"),
    ("Exact is not a prefix: /exact/x falls to the default backend", "/exact/x", None, 200, "bar"),
    ("Prefix is element-wise: /foobar is not /foo", "/foobar", None, 200, "bar"),
    ("default backend (catch-all server)", "/nowhere", None, 200, "bar"),
    ("host-based: foo.example.com", "/", "foo.example.com", 200, "foo"),
    ("host-based: wildcard *.bar.example.com", "/x", "a.bar.example.com", 200, "bar"),
    ("404: a host's server has no location for the path", "/zzz", "only.example.com", 404, None),
    ("host path match: only.example.com/app", "/app/1", "only.example.com", 200, "foo"),
    ("503: the backend has no endpoints", "/idle", None, 503, None),
    ("TLS host over http: 308 to https", "/", "secure.example.com", 308, None),
]


@pytest.mark.parametrize("what,path,host,status,app", ROWS, ids=[r[0] for r in ROWS])
def test_ingress_routing(world, what, path, host, status, app) -> None:
    emulator, _ = world
    headers = (("Host", host),) if host else ()
    result = curl(emulator, f"http://{lb(emulator)}{path}", "external", headers)
    assert result.response is not None, result.error
    assert result.response.status == status
    (leg,) = result.legs
    assert leg.proxy.startswith("ingress-nginx controller :80")
    if app is None:
        assert leg.endpoint is None and leg.upstream is None
        assert result.response.body == nginx_error_page(status)
        return
    body = json.loads(result.response.body)
    assert body["pod"] in pods_of(emulator, app)
    assert leg.endpoint.pod == f"default/{body['pod']}"
    assert body["path"] == path
    # the headers ingress-nginx adds: the client is the external host (externalTrafficPolicy Local keeps it)
    client = str(emulator.cluster.topology.node_gateway)
    assert body["headers"]["X-Forwarded-For"] == [client] and body["headers"]["X-Real-Ip"] == [client]
    assert body["headers"]["X-Forwarded-Host"] == [host or lb(emulator)]
    # the upstream leg leaves the controller's pod for the endpoint's pod IP
    hosts = [s.host for s in leg.upstream.walks[0].steps_of(0)]
    assert hosts[0].startswith("ingress-nginx/ingress-nginx-controller-") and hosts[-1] == f"default/{body['pod']}"


def test_round_robin_reaches_both_foo_pods(world) -> None:
    emulator, _ = world
    seen = [json.loads(curl(emulator, f"http://{lb(emulator)}/foo", "external").response.body)["pod"]
            for _ in range(4)]
    assert set(seen) == pods_of(emulator, "foo")
    assert seen[0] != seen[1] and seen[:2] == seen[2:]


def test_from_a_pod_by_name_through_cluster_dns(world) -> None:
    emulator, _ = world
    bar = sorted(pods_of(emulator, "bar"))[0]
    url = "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local/foo"
    result = curl(emulator, url, f"pod/default/{bar}")
    assert result.response.status == 200
    assert json.loads(result.response.body)["pod"] in pods_of(emulator, "foo")


def test_non_http_bytes_still_echo() -> None:
    from netsim.dataplane.apps import HttpEchoApp
    from netsim.packet import Packet, Proto, TcpFlag
    from ipaddress import ip_address

    app = HttpEchoApp()
    p = Packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), Proto.TCP, 1000, 80,
               tcp_flags=int(TcpFlag.PSH | TcpFlag.ACK), seq=5, ack=9, payload=b"hello")
    (reply,) = app.receive(p, "h")
    assert reply.payload == b"hello"


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed")
def test_both_legs_in_the_pcaps(world, tmp_path) -> None:
    emulator = Emulator(world[0].cluster, CaptureSet(tmp_path))
    pcaps = tmp_path
    result = curl(emulator, f"http://{lb(emulator)}/bar", "external", (("Host", "pcap.example"),))
    emulator.close()
    (leg,) = result.legs
    controller = leg.upstream.walks[0].steps_of(0)[0].host
    backend = leg.endpoint.pod

    def http_rows(host: str) -> list[list[str]]:
        out = subprocess.run(["tshark", "-r", str(pcaps / capture_file_name(host)), "-Y", "http.request",
                              "-T", "fields", "-E", "separator=|", "-e", "ip.src", "-e", "ip.dst", "-e", "http.host",
                              "-e", "http.x_forwarded_for", "-e", "http.request.uri"],
                             capture_output=True, text=True, check=True).stdout
        return [line.split("|") for line in out.splitlines()]

    client = str(emulator.cluster.topology.node_gateway)
    controller_ip = emulator.cluster.store.get("Pod", controller.split("/")[1], "ingress-nginx").pod_ip
    rows = http_rows(controller)
    assert [client, controller_ip, "pcap.example", "", "/bar"] in rows          # leg 1: the client's request
    assert [controller_ip, str(leg.endpoint.address), "pcap.example", client, "/bar"] in rows   # leg 2: proxied
    assert [controller_ip, str(leg.endpoint.address), "pcap.example", client, "/bar"] in http_rows(backend)


def test_installed_only_when_asked() -> None:
    topology = load_topology(ROOT / "topologies/three-node.yaml")
    plain = Cluster.build(topology, [m for m in load_paths([ROOT / "cluster/quickstart"]) if m.obj.kind != "Scenario"])
    assert plain.store.try_get("Deployment", "ingress-nginx-controller", "ingress-nginx") is None
    text = (ROOT / "topologies/three-node.yaml").read_text().replace("  seed: 0\n", "  seed: 0\n  ingressController: nginx\n")
    from netsim.api.topology import load_topology_text
    asked = Cluster.build(load_topology_text(text), [])
    assert asked.store.get("IngressClass", "nginx").spec["controller"] == "k8s.io/ingress-nginx"
    svc = asked.store.get("Service", "ingress-nginx-controller", "ingress-nginx")
    assert svc.type == "LoadBalancer" and svc.spec["externalTrafficPolicy"] == "Local"
    (pod,) = asked.store.list("Pod", "ingress-nginx")
    assert pod.phase == "Running" and pod.labels["app.kubernetes.io/component"] == "controller"


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed")
def test_x_real_ip_in_the_backend_pcap(world, tmp_path) -> None:
    emulator = Emulator(world[0].cluster, CaptureSet(tmp_path))
    result = curl(emulator, f"http://{lb(emulator)}/foo", "external")
    emulator.close()
    out = subprocess.run(["tshark", "-r", str(tmp_path / capture_file_name(result.legs[0].endpoint.pod)), "-Y",
                          "http.request", "-T", "fields", "-e", "http.request.line"],
                         capture_output=True, text=True, check=True).stdout
    client = str(emulator.cluster.topology.node_gateway)
    assert f"X-Real-IP: {client}" in out and f"X-Forwarded-For: {client}" in out and "X-Request-ID: " in out


def test_ingress_status_and_tls_port() -> None:
    from netsim.emulator.addons import reconcile_l7_status
    from netsim.errors import NotImplementedFeature

    topology = load_topology(ROOT / "topologies/three-node.yaml")
    cluster = Cluster.build(topology, [m for m in load_paths([FOLDER]) if m.obj.kind != "Scenario"], seed=0)
    reconcile_l7_status(cluster.store)
    ip = cluster.store.get("Service", "ingress-nginx-controller", "ingress-nginx").load_balancer_ips[0]
    for name in ("paths", "hosts", "fallback"):   # "hosts" names no class: the default IngressClass took it
        assert cluster.store.get("Ingress", name, "default").status["loadBalancer"] == {"ingress": [{"ip": ip}]}
    with pytest.raises(NotImplementedFeature, match="TLS termination on 443"):
        curl(Emulator(cluster), f"http://{ip}:443/", "external")
