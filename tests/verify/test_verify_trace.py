"""The hop-by-hop trace: the packet and its reply across hosts, with the rules that matched and the NAT they did."""

from __future__ import annotations

import json
from pathlib import Path

from netsim.verify.probe import ClusterProbe

ROOT = Path(__file__).resolve().parents[2]


def test_trace_of_a_clusterip_connection_names_rules_nat_and_reply() -> None:
    probe = ClusterProbe.load(ROOT / "cluster/quickstart")
    traced = probe.trace("pod/default/client", "svc/default/web:80")
    svc = probe.store.get("Service", "web", "default")
    trace = traced.trace
    assert trace.packet.hosts[0] == "default/client" and trace.packet.hosts[-1].startswith("default/web-")
    assert trace.reply is not None and trace.reply.hosts[-1] == "default/client"
    text = trace.format()
    # the DNAT rule of the chosen KUBE-SEP chain, with table/chain#number and the rewrite
    assert "nat/KUBE-SERVICES#" in text and f"-d {svc.cluster_ip}/32" in text
    assert "-m statistic --mode random" in text or len([p for p in probe.store.list("Pod")
                                                        if p.labels.get("app") == "web"]) == 1
    assert "-j DNAT --to-destination" in text and "rewrote tcp" in text
    assert "route " in text and "verdict: delivered to default/web-" in text
    # the reply is un-DNATed by conntrack on the way back: the client sees the ClusterIP
    assert f"reply: TCP {svc.cluster_ip}:80 > " in text
    data = trace.to_dict()
    json.dumps(data)
    hooks = [e for hop in data["packet"]["hops"] for e in hop["events"] if e["kind"] == "hook"]
    assert any(r.get("target", "") or "DNAT" in r.get("rule", "") for h in hooks for r in h["rules"])
    assert data["deliveredTo"] == traced.delivered_to.pod.label


def test_a_drop_is_a_verdict_with_its_rule() -> None:
    probe = ClusterProbe.load(ROOT / "cluster/external")
    traced = probe.trace("external", "nodeport/np-local@kind-worker:80")
    assert traced.outcome == "dropped" and traced.trace.reply is None
    text = traced.text()
    assert "verdict: dropped on kind-worker" in text and "DROP" in text
    assert "reply: none reached the sender" in text
    assert not traced.delivered_to and traced.ended("dropped")


def test_the_trace_is_deterministic() -> None:
    a = ClusterProbe.load(ROOT / "cluster/quickstart").trace("pod/client", "svc/web:80").text()
    b = ClusterProbe.load(ROOT / "cluster/quickstart").trace("pod/client", "svc/web:80").text()
    assert a == b
