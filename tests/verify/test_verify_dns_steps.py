"""Scenario steps `resolve` and `dig`: parsing (bad input names its field) and each DNS expectation holding and failing.

The run-time tests send real queries through the quickstart's cluster (CoreDNS
behind kube-dns's ClusterIP, the client pod's resolv.conf with ndots:5), so a
check passes or fails on what glibc's stub and dig would have got.
"""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from netsim.api.errors import FieldError, InvalidObject, NotFound
from netsim.api.topology import load_topology
from netsim.dns.message import Rcode, RRType
from netsim.verify.runner import build_emulator, run_steps
from netsim.verify.scenario import (DigStep, DnsExpectation, Family, ResolveStep, answer_text, load_scenario)

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "topologies/three-node.yaml"
HEAD = f"""apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {{name: dns}}
spec:
  topology: {TOPOLOGY}
  steps:
"""


def scenario(folder: Path, steps: str):
    """A scenario over the quickstart's web and client, with these steps."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("web.yaml", "client.yaml"):
        shutil.copy(ROOT / "cluster/quickstart" / name, folder / name)
    (folder / "scenario.yaml").write_text(HEAD + steps)
    return load_scenario(folder)


@pytest.mark.parametrize("step, field, words", [
    ("- resolve: web\n", "spec.steps[0].resolve", "from, name, family"),
    ("- resolve: {from: client, name: web}\n", "spec.steps[0].resolve.from", "pod/[NAMESPACE/]NAME"),
    ("- resolve: {from: service/web, name: web}\n", "spec.steps[0].resolve.from", "node/NAME"),
    ("- resolve: {from: pod/client}\n", "spec.steps[0].resolve.name", "domain name"),
    ("- resolve: {from: pod/client, name: 'a..b'}\n", "spec.steps[0].resolve.name", "domain name"),
    ("- resolve: {from: pod/client, name: web, type: A}\n", "spec.steps[0].resolve.type", "unknown field"),
    ("- resolve: {from: pod/client, name: web, family: ipv4}\n", "spec.steps[0].resolve.family", "inet6"),
    ("- dig: {from: pod/client, name: web, type: BOGUS}\n", "spec.steps[0].dig.type", "SRV"),
    ("- dig: {from: pod/client, name: web, type: OPT}\n", "spec.steps[0].dig.type", "query type"),
    ("- dig: {from: pod/client, name: cluster.local, type: AXFR}\n", "spec.steps[0].dig.type", "query type"),
    ("- dig: {from: pod/client, name: web, server: kube-dns}\n", "spec.steps[0].dig.server", "IPv4"),
    ("- dig: {from: pod/client, name: web, server: '::1'}\n", "spec.steps[0].dig.server", "IPv4"),
    ("- dig: {from: pod/client, name: web, tcp: 'yes'}\n", "spec.steps[0].dig.tcp", "+tcp"),
    ("- {resolve: {from: pod/client, name: web}, expect: {deliveredTo: app=web}}\n",
     "spec.steps[0].expect.deliveredTo", "answers, rcode, queries, resolvedAs"),
    ("- {dig: {from: pod/client, name: web}, expect: {resolvedAs: web.}}\n",
     "spec.steps[0].expect.resolvedAs", "resolvedAs is for resolve steps"),
    ("- {resolve: {from: pod/client, name: web}, expect: {rcode: NOPE}}\n", "spec.steps[0].expect.rcode",
     "NXDOMAIN"),
    ("- {resolve: {from: pod/client, name: web}, expect: {queries: 0}}\n", "spec.steps[0].expect.queries",
     "positive integer"),
    ("- {resolve: {from: pod/client, name: web}, expect: {queries: true}}\n", "spec.steps[0].expect.queries",
     "positive integer"),
    ("- {resolve: {from: pod/client, name: web}, expect: {answers: [10.96.0.10, 7]}}\n",
     "spec.steps[0].expect.answers[1]", "address"),
    ("- {resolve: {from: pod/client, name: web}, expect: {resolvedAs: ''}}\n", "spec.steps[0].expect.resolvedAs",
     "domain name"),
    ("- {resolve: {from: pod/client, name: web}, expect: [answers]}\n", "spec.steps[0].expect", "rcode"),
    ("- {advance: {seconds: 1}, expect: {rcode: NOERROR}}\n", "spec.steps[0].expect", "send, resolve, dig"),
])
def test_bad_dns_steps_name_the_field(tmp_path: Path, step: str, field: str, words: str) -> None:
    with pytest.raises(InvalidObject) as info:
        scenario(tmp_path, f"  {step}")
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)


def test_dns_steps_parse_into_values(tmp_path: Path) -> None:
    s = scenario(tmp_path, """  - resolve: {from: pod/client, name: web}
  - name: short A only
    resolve: {from: node/kind-worker, name: web.default, family: inet}
    expect: {answers: 10.96.0.10, rcode: nxdomain, queries: 1, resolvedAs: WEB.default.svc.cluster.local}
  - dig: {from: pod/default/client, name: 10.96.0.10.in-addr.arpa, type: ptr, server: 10.96.0.10, tcp: true}
    expect: {answers: ['2001:DB8:0::1', kube-dns.kube-system.svc.cluster.local, '0  100 53  a.b.'], queries: 3}
""")
    first, second, third = (step.action for step in s.steps)
    assert first == ResolveStep("pod/client", "web", Family.UNSPEC, DnsExpectation())
    assert s.steps[0].name == "resolve web from pod/client"
    assert second == ResolveStep("node/kind-worker", "web.default", Family.INET,
                                 DnsExpectation(("10.96.0.10",), Rcode.NXDOMAIN, 1, "web.default.svc.cluster.local."))
    assert s.steps[1].name == "short A only"
    assert third == DigStep("pod/default/client", "10.96.0.10.in-addr.arpa", RRType.PTR, IPv4Address("10.96.0.10"),
                            True, DnsExpectation(("2001:db8::1", "kube-dns.kube-system.svc.cluster.local.",
                                                  "0 100 53 a.b."), None, 3, None))
    assert s.steps[2].name == "dig @10.96.0.10 10.96.0.10.in-addr.arpa PTR +tcp from pod/default/client"


def test_answer_text_is_one_canonical_form() -> None:
    assert answer_text("2001:DB8:0:0::1") == "2001:db8::1"
    assert answer_text("Web.Default.svc.cluster.local") == "web.default.svc.cluster.local."
    assert answer_text('"v=spf1"') == '"v=spf1"'   # a TXT string is data, not a name
    assert answer_text(" 0   100 80  web. ") == "0 100 80 web."


@pytest.fixture(scope="module")
def dns_run(tmp_path_factory):
    """Every check line of a run whose resolve and dig steps have expectations that hold and that fail."""
    s = scenario(tmp_path_factory.mktemp("dns"), """  - name: web holds
    resolve: {from: pod/client, name: web}
    expect: {answers: [CLUSTERIP], rcode: NOERROR, queries: 2, resolvedAs: web.default.svc.cluster.local}
  - name: web fails
    resolve: {from: pod/client, name: web}
    expect: {answers: [10.96.0.99], rcode: NXDOMAIN, queries: 8, resolvedAs: web.svc.cluster.local.}
  - name: nosuch
    resolve: {from: pod/client, name: nosuch}
    expect: {answers: [], rcode: NXDOMAIN, queries: 8, resolvedAs: nosuch.}
  - name: a only
    resolve: {from: pod/client, name: web, family: inet}
    expect: {queries: 1, answers: [CLUSTERIP]}
  - name: dig srv
    dig: {from: pod/client, name: _http._tcp.web.default.svc.cluster.local, type: SRV}
    expect: {rcode: NOERROR, answers: ['0 100 80 web.default.svc.cluster.local.'], queries: 1}
  - name: dig ptr over tcp from a node
    dig: {from: node/kind-worker, name: REVERSE, type: PTR, tcp: true}
    expect: {answers: [web.default.svc.cluster.local], rcode: NOERROR}
  - name: dig a name that is not there
    dig: {from: pod/client, name: nosuch.default.svc.cluster.local}
    expect: {answers: [10.96.0.1], rcode: NOERROR}
  - name: dig a server that is not there
    dig: {from: pod/client, name: web.default.svc.cluster.local, server: 10.96.0.99}
    expect: {rcode: NOERROR, queries: 3, answers: []}
""".replace("CLUSTERIP", "10.96.207.115").replace(
        "REVERSE", ".".join(reversed("10.96.207.115".split("."))) + ".in-addr.arpa"))
    emulator = build_emulator(s, load_topology(TOPOLOGY), 0)
    assert emulator.cluster.store.get("Service", "web", "default").cluster_ip == "10.96.207.115"
    start = emulator.cluster.clock.now()
    reports = {r.name: r for r in run_steps(s, emulator)}
    return reports, emulator.cluster.clock.now() - start


def checks(report) -> list[str]:
    return [c.format() for c in report.checks]


def test_resolve_expectations_that_hold(dns_run) -> None:
    reports, _ = dns_run
    web = reports["web holds"]
    assert web.passed and web.action == "resolve"
    assert checks(web) == [
        "ok   answers 10.96.207.115: got 10.96.207.115",
        "ok   rcode NOERROR: NOERROR (AAAA web.default.svc.cluster.local.)",
        "ok   queries 2: 2 sent: A web.default.svc.cluster.local., AAAA web.default.svc.cluster.local.",
        "ok   resolvedAs web.default.svc.cluster.local.: web.default.svc.cluster.local. answered",
    ]
    assert checks(reports["a only"]) == ["ok   answers 10.96.207.115: got 10.96.207.115",
                                         "ok   queries 1: 1 sent: A web.default.svc.cluster.local."]


def test_resolve_expectations_that_fail_say_what_came_instead(dns_run) -> None:
    reports, _ = dns_run
    web = reports["web fails"]
    assert not web.passed
    assert checks(web) == [
        "FAIL answers 10.96.0.99: got 10.96.207.115; missing 10.96.0.99; unexpected 10.96.207.115",
        "FAIL rcode NXDOMAIN: got NOERROR (AAAA web.default.svc.cluster.local.)",
        "FAIL queries 8: 2 sent: A web.default.svc.cluster.local., AAAA web.default.svc.cluster.local.",
        "FAIL resolvedAs web.svc.cluster.local.: web.default.svc.cluster.local. answered",
    ]


def test_a_name_that_is_nowhere_costs_every_search_domain_and_answers_nothing(dns_run) -> None:
    reports, _ = dns_run
    lines = checks(reports["nosuch"])
    assert lines[:3] == [
        "ok   answers none: got none: NXDOMAIN (AAAA nosuch., HOST_NOT_FOUND)",
        "ok   rcode NXDOMAIN: NXDOMAIN (AAAA nosuch., HOST_NOT_FOUND)",
        "ok   queries 8: 8 sent: A nosuch.default.svc.cluster.local., AAAA nosuch.default.svc.cluster.local., "
        "A nosuch.svc.cluster.local., AAAA nosuch.svc.cluster.local., A nosuch.cluster.local., "
        "AAAA nosuch.cluster.local., and 2 more",
    ]
    assert lines[3] == "FAIL resolvedAs nosuch.: no name answered (NXDOMAIN (AAAA nosuch., HOST_NOT_FOUND))"
    assert reports["nosuch"].lines[-5] == "  no answer: HOST_NOT_FOUND"


def test_resolve_report_reads_as_netsim_resolve(dns_run) -> None:
    reports, _ = dns_run
    lines = reports["web holds"].lines
    assert lines[:5] == ("web holds: resolve web from pod default/client", "  resolv.conf:",
                         "    search default.svc.cluster.local svc.cluster.local cluster.local",
                         "    nameserver 10.96.0.10", "    options ndots:5")
    assert lines[5].split()[:3] == ["0.000s", lines[5].split()[1], "->"] and "10.96.0.10:53" in lines[5]
    assert lines[5].endswith("A    web.default.svc.cluster.local.  NOERROR 10.96.207.115")
    assert lines[7] == "  answer: web.default.svc.cluster.local. -> 10.96.207.115"
    data = reports["web holds"].to_dict()["dns"]
    assert data["answered"] == "web.default.svc.cluster.local." and data["rcode"] == "NOERROR"
    assert [q["query"]["question"][0]["type"] for q in data["queries"]] == ["A", "AAAA"]
    first = data["queries"][0]
    assert first["path"][0] == "default/client" and first["path"][-1].startswith("kube-system/coredns-")
    assert first["nat"][0].startswith("DNAT 10.96.0.10:53 -> ")


def test_dig_expectations(dns_run) -> None:
    reports, elapsed = dns_run
    srv = reports["dig srv"]
    assert checks(srv) == ["ok   answers 0 100 80 web.default.svc.cluster.local.: "
                           "got 0 100 80 web.default.svc.cluster.local.",
                           "ok   rcode NOERROR: NOERROR",
                           "ok   queries 1: 1 sent: SRV _http._tcp.web.default.svc.cluster.local."]
    assert srv.lines[0] == "dig srv: dig _http._tcp.web.default.svc.cluster.local SRV from pod default/client"
    assert ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: " in srv.lines[3]
    assert reports["dig ptr over tcp from a node"].passed
    assert reports["dig ptr over tcp from a node"].to_dict()["dns"]["proto"] == "TCP"
    assert checks(reports["dig a name that is not there"]) == [
        "FAIL answers 10.96.0.1: got none: NXDOMAIN; missing 10.96.0.1",
        "FAIL rcode NOERROR: got NXDOMAIN",
    ]
    gone = reports["dig a server that is not there"]
    assert checks(gone) == [
        "ok   answers none: got none: no reply (no servers could be reached)",
        "FAIL rcode NOERROR: got no reply (no servers could be reached)",
        "ok   queries 3: 3 sent: A web.default.svc.cluster.local., A web.default.svc.cluster.local., "
        "A web.default.svc.cluster.local.",
    ]
    assert gone.lines[-4:-3] == ("  ;; no servers could be reached",)
    assert elapsed >= 15   # dig's three tries of 5 s on the simulated clock


def test_a_dns_step_from_a_missing_pod_or_a_down_node_names_its_field(tmp_path: Path) -> None:
    s = scenario(tmp_path / "a", "  - resolve: {from: pod/ghost, name: web}\n")
    with pytest.raises(NotFound, match=r"spec.steps\[0\].resolve.from: pods \"ghost\" not found"):
        list(run_steps(s, build_emulator(s, load_topology(TOPOLOGY), 0)))
    s = scenario(tmp_path / "b", "  - failNode: {name: kind-worker}\n  - dig: {from: node/kind-worker, name: web}\n")
    with pytest.raises(FieldError) as info:
        list(run_steps(s, build_emulator(s, load_topology(TOPOLOGY), 0)))
    assert info.value.field.endswith("spec.steps[1].dig.from") and "machine is down" in info.value.problem


def test_the_readme_dns_example_parses(tmp_path: Path) -> None:
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "cluster/README.md").read_text(), re.S)
    dns = next(b for b in blocks if "resolve:" in b)
    s = scenario(tmp_path, "".join(f"  {line}\n" for line in dns.splitlines()))
    resolve, dig = (step.action for step in s.steps)
    assert resolve.expect == DnsExpectation(("10.96.207.115",), Rcode.NOERROR, 2, "web.default.svc.cluster.local.")
    assert dig.qtype is RRType.SRV and dig.expect.answers == ("0 100 80 web.default.svc.cluster.local.",)


def test_the_shipped_dns_scenario_parses_its_steps() -> None:
    s = load_scenario(ROOT / "cluster/dns")
    assert [type(step.action).__name__ for step in s.steps] == [
        "ResolveStep", "SendStep", "ResolveStep", "ResolveStep", "DigStep", "DigStep", "DigStep"]
    assert {m.obj.name for m in s.manifests} == {"web", "client"}
