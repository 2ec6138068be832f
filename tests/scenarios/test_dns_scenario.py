"""Cluster DNS end to end: kubeadm's add-on, lookups from a pod as packets through kube-proxy's DNAT, pcaps tshark reads."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dns"))
from dns_cluster import ask, build, client, data  # noqa: E402

from netsim.api.load import load_paths  # noqa: E402
from netsim.api.topology import load_topology  # noqa: E402
from netsim.capture.points import CaptureSet  # noqa: E402
from netsim.dns.message import Rcode  # noqa: E402
from netsim.emulator.cluster import Cluster  # noqa: E402
from netsim.verify.summary import packet_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HAVE_TSHARK = shutil.which("tshark") is not None
CLIENT = "team-a/client"


def test_kubeadms_coredns_add_on_is_installed() -> None:
    cluster = build()
    store = cluster.store
    deploy = store.get("Deployment", "coredns", "kube-system")
    assert deploy.replicas == 2 and dict(deploy.labels) == {"k8s-app": "kube-dns"}
    spec = deploy.template["spec"]
    assert spec["priorityClassName"] == "system-cluster-critical" and spec["dnsPolicy"] == "Default"
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in spec["tolerations"]
    (container,) = spec["containers"]
    assert container["resources"] == {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}}
    assert [(p["name"], p["containerPort"], p["protocol"]) for p in container["ports"]][:3] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    svc = store.get("Service", "kube-dns", "kube-system")
    assert svc.cluster_ip == "10.96.0.10" and dict(svc.selector) == {"k8s-app": "kube-dns"}
    assert [(p.name, p.protocol, p.port) for p in svc.ports] == [("dns", "UDP", 53), ("dns-tcp", "TCP", 53),
                                                                 ("metrics", "TCP", 9153)]
    assert svc.labels["kubernetes.io/name"] == "CoreDNS" and svc.annotations["prometheus.io/port"] == "9153"
    assert store.get("ServiceAccount", "coredns", "kube-system")
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in store.get("ConfigMap", "coredns", "kube-system").get(
        "data")["Corefile"]
    pods = store.list("Pod", "kube-system", where=lambda p: p.labels.get("k8s-app") == "kube-dns")
    assert len(pods) == 2 and all(p.phase == "Running" for p in pods)
    # it tolerates the control-plane taint, as kubeadm's does: with this seed one replica runs there
    assert "kind-control-plane" in {p.node_name for p in pods}
    (slice_,) = store.list("EndpointSlice", "kube-system", where=lambda s: s.service_name == "kube-dns")
    assert sorted(a for e in slice_.endpoints for a in e.addresses) == sorted(p.pod_ip for p in pods)


def test_install_coredns_false_leaves_it_out_and_lookups_time_out() -> None:
    cluster = build(netsim={"installCoreDNS": False})
    assert cluster.store.try_get("Service", "kube-dns", "kube-system") is None
    assert cluster.store.list("Pod", "kube-system") == []
    start = cluster.clock.now()
    result = client(cluster).resolve("web", f"pod/{CLIENT}")
    assert result.answered is None and result.h_errno == "TRY_AGAIN"
    # timeout 5 s, attempts 2, one nameserver: 10 s on the first search domain, which ends the search (TRY_AGAIN),
    # then 10 s more on the name as is, as __res_context_search goes on to it
    assert cluster.clock.now() - start == 20
    assert [s.query.question[0].name for s in result.steps][::4] == ["web.team-a.svc.cluster.local.", "web."]


def test_a_dump_that_holds_coredns_is_not_given_a_second_one() -> None:
    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                            load_paths([ROOT / "tests/data/kind-dump.yaml"]))
    deployments = cluster.store.list("Deployment", "kube-system")
    assert [d.name for d in deployments] == ["coredns"]
    assert len(cluster.store.list("Service", "kube-system")) == 1


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """A Service lookup and an external lookup from the client pod, captured."""
    pcaps = tmp_path_factory.mktemp("dns-pcaps")
    cluster = build()
    capture = CaptureSet(pcaps)
    dns = client(cluster, capture)
    service = dns.resolve("web.default", f"pod/{CLIENT}")
    external = dns.resolve("example.com", f"pod/{CLIENT}")
    capture.close()
    return cluster, service, external, pcaps


def test_a_service_lookup_goes_pod_node_coredns_and_back(traced) -> None:
    cluster, service, _, _ = traced
    store = cluster.store
    assert service.answered == "web.default.svc.cluster.local."
    assert [s.query.question[0].name for s in service.steps] == ["web.default.team-a.svc.cluster.local."] * 2 + [
        "web.default.svc.cluster.local."] * 2
    assert service.addresses == (store.get("Service", "web", "default").cluster_ip,)
    client_pod = store.get("Pod", "client", "team-a")
    coredns = {f"kube-system/{p.name}": p.pod_ip for p in store.list("Pod", "kube-system")}
    for step in service.steps:
        walk = step.trace
        query = packet_path(walk, 0)
        assert query.hosts[0] == CLIENT and query.hosts[1] == client_pod.node_name
        assert query.end_host in coredns and query.app == "coredns in container coredns"
        (dnat,) = query.rewrites
        assert dnat.host == client_pod.node_name and dnat.hook == "PREROUTING"
        assert f"> 10.96.0.10:53" in dnat.before and f"> {coredns[query.end_host]}:53" in dnat.after
        reply_id = next(d.packet for d in walk.dispositions if d.host == CLIENT and d.app == "socket")
        back = packet_path(walk, reply_id)
        assert back.hosts == tuple(reversed(query.hosts))
        assert any("10.96.0.10:53 >" in r.after for r in back.rewrites)   # conntrack undid the DNAT


def test_an_external_lookup_walks_the_search_list_then_asks_as_is(traced) -> None:
    _, _, external, _ = traced
    names = [(s.query.question[0].type.name, s.query.question[0].name, s.reply.rcode.name) for s in external.steps]
    expected = []
    for name, rcode in (("example.com.team-a.svc.cluster.local.", "NXDOMAIN"),
                        ("example.com.svc.cluster.local.", "NXDOMAIN"),
                        ("example.com.cluster.local.", "NXDOMAIN"), ("example.com.", "NOERROR")):
        expected += [("A", name, rcode), ("AAAA", name, rcode)]
    assert names == expected
    assert external.addresses == ("93.184.215.14",)
    assert len({s.sport for s in external.steps}) == 4          # one socket per name, A and AAAA share it


def _tshark(path: Path) -> list[list[str]]:
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "dns", "-T", "fields", "-E", "separator=|",
                          "-e", "ip.src", "-e", "ip.dst", "-e", "dns.flags.response", "-e", "dns.qry.name",
                          "-e", "dns.qry.type", "-e", "dns.flags.rcode", "-e", "dns.a", "-e", "dns.resp.ttl"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


@pytest.mark.skipif(not HAVE_TSHARK, reason="tshark is not installed (.ci/run installs it)")
def test_tshark_decodes_the_queries_and_answers(traced) -> None:
    cluster, service, external, pcaps = traced
    client_ip = cluster.store.get("Pod", "client", "team-a").pod_ip
    rows = _tshark(pcaps / "team-a_client.pcapng")
    queries = [r for r in rows if r[2] in ("0", "False")]
    answers = [r for r in rows if r[2] in ("1", "True")]
    assert len(queries) == len(answers) == len(service.steps) + len(external.steps)
    assert all(r[0] == client_ip and r[1] == "10.96.0.10" for r in queries)
    assert all(r[0] == "10.96.0.10" and r[1] == client_ip for r in answers)   # from the ClusterIP: un-DNATed
    web_ip = cluster.store.get("Service", "web", "default").cluster_ip
    assert answers[0][3:6] == ["web.default.team-a.svc.cluster.local", "1", "3"]   # A, NXDOMAIN
    assert answers[2][3:8] == ["web.default.svc.cluster.local", "1", "0", web_ip, "30"]
    assert [r[3] for r in answers if r[5] == "3"] == [n for n in (
        "web.default.team-a.svc.cluster.local", "example.com.team-a.svc.cluster.local",
        "example.com.svc.cluster.local", "example.com.cluster.local") for _ in range(2)]
    assert any(r[3] == "example.com" and r[6] == "93.184.215.14" for r in answers)
    # the CoreDNS pods saw the queries after the DNAT, to their own address
    coredns = [p for p in cluster.store.list("Pod", "kube-system")]
    seen = sum(len(_tshark(pcaps / f"kube-system_{p.name}.pcapng")) for p in coredns
               if (pcaps / f"kube-system_{p.name}.pcapng").exists())
    assert seen == 2 * (len(service.steps) + len(external.steps))


def test_headless_externalname_and_statefulset_names_from_a_pod() -> None:
    cluster = build()
    dns = client(cluster)
    pods = {p.name: p.pod_ip for p in cluster.store.list("Pod", "default")}
    assert sorted(data(ask(dns, "nginx.default.svc.cluster.local"))) == sorted(
        pods[n] for n in ("web-0", "web-1", "plain"))
    assert data(ask(dns, "ext.default.svc.cluster.local")) == ["example.com.", "93.184.215.14"]
    assert client(cluster).resolve("web-1.nginx", f"pod/{CLIENT}").answered is None   # other namespace's search
    res = dns.resolve("web-1.nginx.default", f"pod/{CLIENT}")
    assert res.answered == "web-1.nginx.default.svc.cluster.local." and res.addresses == (pods["web-1"],)


def _cli(argv: list[str]) -> tuple[int, str]:
    import netsim.cli.main as main_module

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main_module.main(argv)
    return code, out.getvalue()


def test_netsim_dig_prints_as_dig_does() -> None:
    code, text = _cli(["dig", "@10.96.0.10", "--from", "client", "web.default.svc.cluster.local",
                       "-f", str(ROOT / "cluster/quickstart")])
    assert code == 0
    lines = text.splitlines()
    assert lines[1] == "; <<>> DiG 9.18 (netsim) <<>> @10.96.0.10 web.default.svc.cluster.local"
    assert lines[2:6] == ["; (1 server found)", ";; global options: +cmd", ";; Got answer:",
                          lines[5]] and lines[5].startswith(";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: ")
    tail = "\n".join(lines[6:])
    assert tail == """;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;web.default.svc.cluster.local.\tIN\tA

;; ANSWER SECTION:
web.default.svc.cluster.local. 30 IN\tA\t10.96.207.115

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; WHEN: Mon Jan 01 00:00:00 UTC 2024
;; MSG SIZE  rcvd: 103
"""


def test_netsim_resolve_shows_every_query_with_time() -> None:
    code, text = _cli(["resolve", "--from", "client", "example.com", "-f", str(ROOT / "cluster/quickstart")])
    assert code == 0
    lines = text.splitlines()
    assert lines[:5] == ["resolve example.com from pod default/client", "resolv.conf:",
                         "  search default.svc.cluster.local svc.cluster.local cluster.local",
                         "  nameserver 10.96.0.10", "  options ndots:5"]
    asked = [line.split()[7] for line in lines[5:-1]]
    assert asked == [n for n in ("example.com.default.svc.cluster.local.", "example.com.svc.cluster.local.",
                                 "example.com.cluster.local.", "example.com.") for _ in range(2)]
    assert lines[5].split()[0] == "0.000s" and lines[-1] == "answer: example.com. -> 93.184.215.14"
