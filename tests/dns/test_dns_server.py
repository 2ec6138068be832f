"""CoreDNS's answers, asked as packets from a pod: every record type and rcode of the Kubernetes DNS specification."""

from __future__ import annotations

import pytest

from dns_cluster import ask, build, client, data
from netsim.dns.message import SOA, Rcode, RRType
from netsim.emulator.addons import default_corefile

SERIAL = 1704067200   # the simulated clock's start: when the cluster's objects last changed


@pytest.fixture(scope="module")
def cluster():
    return build()


@pytest.fixture(scope="module")
def dns(cluster):
    return client(cluster)


def pod_ip(cluster, name, ns="default"):
    return cluster.store.get("Pod", name, ns).pod_ip


def svc_ip(cluster, name, ns="default"):
    return cluster.store.get("Service", name, ns).cluster_ip


def test_clusterip_service_a_record_with_the_corefile_ttl(cluster, dns) -> None:
    reply = ask(dns, "web.default.svc.cluster.local")
    assert reply.rcode is Rcode.NOERROR and reply.aa and not reply.ra
    assert [(r.name, r.type, r.ttl, str(r.data)) for r in reply.answer] == [
        ("web.default.svc.cluster.local.", RRType.A, 30, svc_ip(cluster, "web"))]   # kubeadm's Corefile: ttl 30
    assert reply.authority == ()


def test_aaaa_of_an_ipv4_service_is_nodata_with_the_soa(dns) -> None:
    reply = ask(dns, "web.default.svc.cluster.local", "AAAA")
    assert reply.rcode is Rcode.NOERROR and reply.answer == ()
    (soa,) = reply.authority
    assert (soa.name, soa.type, soa.ttl) == ("cluster.local.", RRType.SOA, 30)
    assert soa.data == SOA("ns.dns.cluster.local.", "hostmaster.cluster.local.", SERIAL, 7200, 1800, 86400, 30)


@pytest.mark.parametrize("name", [
    "nope.default.svc.cluster.local",        # no such Service
    "web.nowhere.svc.cluster.local",         # no such namespace
    "a.b.c.web.default.svc.cluster.local",   # too many labels
    "web.default.cluster.local",             # neither svc nor pod
    "web-9.nginx.default.svc.cluster.local", # no such endpoint
])
def test_names_that_do_not_exist_are_nxdomain_with_the_soa(dns, name) -> None:
    reply = ask(dns, name)
    assert reply.rcode is Rcode.NXDOMAIN and reply.aa and reply.answer == ()
    (soa,) = reply.authority
    assert soa.data == SOA("ns.dns.cluster.local.", "hostmaster.cluster.local.", SERIAL, 7200, 1800, 86400, 30)


@pytest.mark.parametrize("name", ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"])
def test_names_above_a_service_exist_without_data(dns, name) -> None:
    reply = ask(dns, name)
    assert reply.rcode is Rcode.NOERROR and reply.answer == () and reply.authority[0].type is RRType.SOA


def test_headless_service_lists_every_ready_pod(cluster, dns) -> None:
    reply = ask(dns, "nginx.default.svc.cluster.local")
    assert reply.rcode is Rcode.NOERROR
    assert sorted(data(reply, RRType.A)) == sorted(pod_ip(cluster, p) for p in ("web-0", "web-1", "plain"))
    assert {r.ttl for r in reply.answer} == {30}


def test_headless_leaves_out_unready_pods_unless_publish_not_ready_addresses() -> None:
    cluster = build()
    store = cluster.store

    def unready(d):
        for c in d["status"]["conditions"]:
            if c["type"] == "Ready":
                c["status"] = "False"
    store.update(store.get("Pod", "web-1", "default").evolve(unready))
    cluster.settle()
    reply = ask(client(cluster), "nginx.default.svc.cluster.local")
    assert sorted(data(reply)) == sorted(pod_ip(cluster, p) for p in ("web-0", "plain"))
    svc = store.get("Service", "nginx", "default")
    store.update(svc.evolve(lambda d: d["spec"].update(publishNotReadyAddresses=True)))
    cluster.settle()
    reply = ask(client(cluster), "nginx.default.svc.cluster.local")
    assert sorted(data(reply)) == sorted(pod_ip(cluster, p) for p in ("web-0", "web-1", "plain"))


def test_statefulset_pod_name_resolves_to_that_pod(cluster, dns) -> None:
    for pod in ("web-0", "web-1"):
        reply = ask(dns, f"{pod}.nginx.default.svc.cluster.local")
        assert [(r.name, str(r.data)) for r in reply.answer] == [
            (f"{pod}.nginx.default.svc.cluster.local.", pod_ip(cluster, pod))]


def test_an_endpoint_without_hostname_is_named_by_its_dashed_ip(cluster, dns) -> None:
    dashed = pod_ip(cluster, "plain").replace(".", "-")
    reply = ask(dns, f"{dashed}.nginx.default.svc.cluster.local")
    assert data(reply) == [pod_ip(cluster, "plain")]


def test_srv_for_a_named_port_of_a_clusterip_service(cluster, dns) -> None:
    reply = ask(dns, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert data(reply) == ["0 100 80 web.default.svc.cluster.local."]
    assert [(r.name, r.type, str(r.data)) for r in reply.additional] == [
        ("web.default.svc.cluster.local.", RRType.A, svc_ip(cluster, "web"))]
    udp = ask(dns, "_dns._udp.web.default.svc.cluster.local", "SRV")
    assert data(udp) == ["0 100 53 web.default.svc.cluster.local."]
    both = ask(dns, "web.default.svc.cluster.local", "SRV")     # every port: weights share 100
    assert sorted(data(both)) == ["0 50 53 web.default.svc.cluster.local.", "0 50 80 web.default.svc.cluster.local."]
    assert ask(dns, "_nope._tcp.web.default.svc.cluster.local", "SRV").rcode is Rcode.NXDOMAIN


def test_srv_of_a_headless_service_names_each_endpoint(cluster, dns) -> None:
    reply = ask(dns, "_web._tcp.nginx.default.svc.cluster.local", "SRV")
    dashed = pod_ip(cluster, "plain").replace(".", "-")
    assert sorted(data(reply)) == sorted(f"0 33 80 {h}.nginx.default.svc.cluster.local."
                                         for h in ("web-0", "web-1", dashed))
    assert sorted((r.name, str(r.data)) for r in reply.additional) == sorted(
        (f"{h}.nginx.default.svc.cluster.local.", pod_ip(cluster, p))
        for h, p in (("web-0", "web-0"), ("web-1", "web-1"), (dashed, "plain")))


def test_externalname_answers_with_a_cname_and_the_target_addresses(dns) -> None:
    reply = ask(dns, "ext.default.svc.cluster.local")
    assert [(r.name, r.type, str(r.data)) for r in reply.answer] == [
        ("ext.default.svc.cluster.local.", RRType.CNAME, "example.com."),
        ("example.com.", RRType.A, "93.184.215.14")]
    cname = ask(dns, "ext.default.svc.cluster.local", "CNAME")
    assert data(cname) == ["example.com."]


def test_externalname_inside_the_zone_is_followed(cluster, dns) -> None:
    reply = ask(dns, "ext-in.default.svc.cluster.local")
    assert [(r.type, str(r.data)) for r in reply.answer] == [
        (RRType.CNAME, "web.default.svc.cluster.local."), (RRType.A, svc_ip(cluster, "web"))]


def test_ptr_of_a_service_and_of_an_endpoint(cluster, dns) -> None:
    def rev(ip):
        return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    assert data(ask(dns, rev(svc_ip(cluster, "web")), "PTR")) == ["web.default.svc.cluster.local."]
    assert data(ask(dns, rev(pod_ip(cluster, "web-0")), "PTR")) == ["web-0.nginx.default.svc.cluster.local."]
    # no Service or endpoint has it: fallthrough in-addr.arpa hands it to forward, whose upstream has nothing
    reply = ask(dns, "9.9.9.10.in-addr.arpa", "PTR")
    assert reply.rcode is Rcode.NXDOMAIN and not reply.aa and reply.ra


def test_pods_insecure_answers_any_dashed_address(dns) -> None:
    reply = ask(dns, "10-244-1-99.default.pod.cluster.local")
    assert [(r.name, str(r.data)) for r in reply.answer] == [("10-244-1-99.default.pod.cluster.local.", "10.244.1.99")]
    assert ask(dns, "not-an-ip.default.pod.cluster.local").rcode is Rcode.NXDOMAIN


def _corefile(options: str, zones: str = "cluster.local in-addr.arpa ip6.arpa") -> str:
    return (".:53 {\n    errors\n    kubernetes " + zones + " {\n" + options +
            "    }\n    forward . /etc/resolv.conf\n}\n")


def test_pods_verified_and_disabled() -> None:
    cluster = build(_corefile("       pods verified\n"))
    dns = client(cluster)
    real = pod_ip(cluster, "web-0").replace(".", "-")
    assert data(ask(dns, f"{real}.default.pod.cluster.local")) == [pod_ip(cluster, "web-0")]
    assert ask(dns, f"{real}.team-a.pod.cluster.local").rcode is Rcode.NXDOMAIN      # not in that namespace
    assert ask(dns, "10-244-1-99.default.pod.cluster.local").rcode is Rcode.NXDOMAIN
    off = client(build(_corefile("")))
    assert ask(off, f"{real}.default.pod.cluster.local").rcode is Rcode.NXDOMAIN


def test_default_ttl_is_five_and_the_soa_follows_it(cluster) -> None:
    dns = client(build(_corefile("")))
    assert [r.ttl for r in ask(dns, "web.default.svc.cluster.local").answer] == [5]
    (soa,) = ask(dns, "nope.default.svc.cluster.local").authority
    assert soa.ttl == 5 and soa.data.minimum == 5


def test_namespaces_option_hides_the_others() -> None:
    dns = client(build(_corefile("       namespaces team-a\n")))
    assert ask(dns, "web.default.svc.cluster.local").rcode is Rcode.NXDOMAIN
    assert ask(dns, "empty.team-a.svc.cluster.local").rcode is Rcode.NOERROR


def test_ignore_empty_service_and_endpoint_pod_names() -> None:
    cluster = build(_corefile("       ignore empty_service\n       endpoint_pod_names\n"))
    dns = client(cluster)
    assert ask(dns, "empty.team-a.svc.cluster.local").rcode is Rcode.NXDOMAIN
    assert data(ask(dns, "plain.nginx.default.svc.cluster.local")) == [pod_ip(cluster, "plain")]


def test_without_fallthrough_a_missing_ptr_is_the_plugins_nxdomain() -> None:
    dns = client(build(_corefile("")))
    reply = ask(dns, "9.9.9.10.in-addr.arpa", "PTR")
    assert reply.rcode is Rcode.NXDOMAIN and reply.aa and reply.authority[0].name == "in-addr.arpa."


def test_fallthrough_of_the_cluster_zone_goes_to_forward() -> None:
    dns = client(build(_corefile("       fallthrough\n")))
    reply = ask(dns, "nope.default.svc.cluster.local")
    assert reply.rcode is Rcode.NXDOMAIN and not reply.aa and reply.authority == ()


def test_names_outside_the_cluster_are_forwarded_to_the_upstream_records(dns) -> None:
    reply = ask(dns, "example.com")
    assert reply.rcode is Rcode.NOERROR and not reply.aa and reply.ra
    assert [(r.name, r.ttl, str(r.data)) for r in reply.answer] == [("example.com.", 300, "93.184.215.14")]
    assert data(ask(dns, "dual.example.org", "AAAA")) == ["2001:db8::7"]
    nodata = ask(dns, "example.com", "AAAA")
    assert nodata.rcode is Rcode.NOERROR and nodata.answer == ()
    assert ask(dns, "unknown.example.net").rcode is Rcode.NXDOMAIN


def test_without_forward_an_outside_name_is_servfail() -> None:
    corefile = ".:53 {\n    kubernetes cluster.local\n}\n"
    assert ask(client(build(corefile)), "example.com").rcode is Rcode.SERVFAIL


def test_the_cluster_domain_comes_from_the_topology() -> None:
    cluster = build(netsim={"clusterDomain": "corp.internal"})
    dns = client(cluster)
    reply = ask(dns, "web.default.svc.corp.internal")
    assert data(reply) == [svc_ip(cluster, "web")]
    assert ask(dns, "web.default.svc.cluster.local").rcode is Rcode.NXDOMAIN   # forwarded, unknown upstream
    assert cluster.store.get("ConfigMap", "coredns", "kube-system").get("data")["Corefile"] == \
        default_corefile("corp.internal")


def test_dns_version_txt_soa_and_ns_at_the_apex(cluster, dns) -> None:
    assert data(ask(dns, "dns-version.cluster.local", "TXT")) == ['"1.1.0"']
    soa = ask(dns, "cluster.local", "SOA")
    assert [r.type for r in soa.answer] == [RRType.SOA]
    ns = ask(dns, "cluster.local", "NS")
    assert data(ns) == ["kube-dns.kube-system.svc.cluster.local."]
    assert [(r.name, str(r.data)) for r in ns.additional] == [("kube-dns.kube-system.svc.cluster.local.", "10.96.0.10")]
    assert data(ask(dns, "ns.dns.cluster.local")) == ["10.96.0.10"]


def test_loadbalance_shuffles_with_the_seed(cluster) -> None:
    orders = {tuple(data(ask(client(build(seed=s)), "nginx.default.svc.cluster.local"))) for s in range(6)}
    assert len({frozenset(o) for o in orders}) == 1 and len(orders) > 1
    again = [tuple(data(ask(client(build(seed=3)), "nginx.default.svc.cluster.local"))) for _ in range(2)]
    assert again[0] == again[1]


def test_names_are_matched_case_insensitively_and_answered_in_the_askers_case(cluster, dns) -> None:
    reply = ask(dns, "WEB.Default.svc.cluster.local")
    assert [(r.name, str(r.data)) for r in reply.answer] == [("WEB.Default.svc.cluster.local.", svc_ip(cluster, "web"))]
