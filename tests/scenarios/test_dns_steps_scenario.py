"""`netsim run` with resolve and dig steps end to end: cluster/dns's lookups, the report, --json, exit 1 on a miss."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from netsim.capture.pcapng import read_pcapng
from netsim.cli.main import main
from netsim.packet import Packet, Proto
from netsim.packet.wire import decode_frame

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_dns_scenario_resolves_web_and_an_outside_name(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, str(ROOT / "cluster/dns"), "--pcap-dir", str(tmp_path))
    assert code == 0 and err == "", out + err
    blocks = out.split("\n\n")
    short = next(b for b in blocks if b.startswith("the client finds web by its short name: resolve web from pod "
                                                   "default/client\n"))
    assert "  answer: web.default.svc.cluster.local. -> 10.96.207.115" in short
    assert "  ok   queries 2: 2 sent: A web.default.svc.cluster.local., AAAA web.default.svc.cluster.local." in short
    outside = next(b for b in blocks if ": resolve example.com from pod default/client\n" in b)
    asked = [line.split()[7] for line in outside.splitlines() if line.strip().startswith("0.000s")]
    assert asked == [n for n in ("example.com.default.svc.cluster.local.", "example.com.svc.cluster.local.",
                                 "example.com.cluster.local.", "example.com.") for _ in range(2)]
    assert "  ok   resolvedAs example.com.: example.com. answered" in outside
    dotted = next(b for b in blocks if ": resolve example.com. from pod default/client\n" in b)
    assert "  ok   queries 2: 2 sent: A example.com., AAAA example.com." in dotted
    srv = next(b for b in blocks if ": dig _http._tcp.web.default.svc.cluster.local SRV from pod " in b)
    assert "  ok   answers 0 100 80 web.default.svc.cluster.local.: got 0 100 80 web.default.svc.cluster.local." \
        in srv
    missing = next(b for b in blocks if b.startswith("a Service that does not exist: dig db.default"))
    assert "status: NXDOMAIN" in missing and "  ok   rcode NXDOMAIN: NXDOMAIN" in missing
    assert "expectations: 15 of 15 held" in out
    # the queries were packets: the client's capture holds them, from the pod to the kube-dns ClusterIP and back
    frames = [decode_frame(c.frame) for c in read_pcapng((tmp_path / "default_client.pcapng").read_bytes())]
    dns = [p for p in frames if isinstance(p, Packet) and p.proto == Proto.UDP and 53 in (p.sport, p.dport)]
    assert len([p for p in dns if p.dport == 53]) == 2 + 8 + 2 + 3
    assert {str(p.dst) for p in dns if p.dport == 53} == {"10.96.0.10"}
    assert {str(p.src) for p in dns if p.sport == 53} == {"10.96.0.10"}   # conntrack undid the DNAT


def test_json_carries_the_queries_and_the_checks(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, str(ROOT / "cluster/dns"), "--pcap-dir", str(tmp_path), "--json")
    assert code == 0
    doc = json.loads(out)
    resolve, send, outside = doc["steps"][:3]
    assert resolve["action"] == "resolve" and resolve["passed"] is True
    assert resolve["dns"]["addresses"] == ["10.96.207.115"] and len(resolve["dns"]["queries"]) == 2
    assert [c["expectation"] for c in resolve["checks"]] == [
        "answers 10.96.207.115", "rcode NOERROR", "queries 2", "resolvedAs web.default.svc.cluster.local."]
    assert send["action"] == "send" and "dns" not in send
    assert len(outside["dns"]["queries"]) == 8 and outside["dns"]["answered"] == "example.com."
    dig = doc["steps"][4]
    assert dig["action"] == "dig" and dig["dns"]["reply"]["answer"][0]["type"] == "SRV"
    assert doc["expectations"] == {"total": 15, "failed": 0}


def test_a_failed_dns_expectation_exits_1_saying_which_and_why(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    for name in ("web.yaml", "client.yaml"):
        shutil.copy(ROOT / "cluster/quickstart" / name, folder / name)
    (folder / "scenario.yaml").write_text(f"""apiVersion: netsim.dev/v1alpha1
kind: Scenario
metadata: {{name: dns-miss}}
spec:
  topology: {ROOT / "topologies/three-node.yaml"}
  steps:
  - name: a full name without its dot
    resolve: {{from: pod/client, name: web.default.svc.cluster.local}}
    expect: {{queries: 2, rcode: NOERROR}}
  - dig: {{from: pod/client, name: web.default.svc.cluster.local, type: AAAA}}
    expect: {{answers: [10.96.207.115]}}
""")
    code, out, _ = run(capsys, str(folder), "--pcap-dir", str(tmp_path / "p"))
    assert code == 1
    assert "  ok   rcode NOERROR: NOERROR (AAAA web.default.svc.cluster.local.)" in out
    assert "expectations: 1 of 3 held, 2 failed:" in out
    # 4 dots, fewer than ndots:5: glibc walks the three search domains before asking the name as is
    assert ("  spec.steps[0] (a full name without its dot): queries 2: 8 sent: "
            "A web.default.svc.cluster.local.default.svc.cluster.local., "
            "AAAA web.default.svc.cluster.local.default.svc.cluster.local., ") in out
    assert ("  spec.steps[1] (dig web.default.svc.cluster.local AAAA from pod/client): answers 10.96.207.115: "
            "got none: NOERROR; missing 10.96.207.115") in out
    code, out, _ = run(capsys, str(folder), "--pcap-dir", str(tmp_path / "q"), "--json")
    assert code == 1 and json.loads(out)["expectations"] == {"total": 3, "failed": 2}
