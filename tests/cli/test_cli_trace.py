"""`netsim trace`: text and JSON, one packet and its reply; bad endpoints are exit 2."""

from __future__ import annotations

import json


from netsim.cli import main as cli

def test_trace_text(capsys) -> None:
    assert cli.main(["trace", "--from", "pod/client", "--to", "svc/default/web:80", "-f", "cluster/quickstart"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("trace TCP pod default/client (")
    assert "\npacket: TCP " in out and "\nreply: TCP " in out and "\nsummary:\n" in out
    assert "PREROUTING in=cni0 ACCEPT" in out and "-j DNAT --to-destination" in out


def test_trace_json_udp(capsys) -> None:
    code = cli.main(["trace", "--from", "pod/client", "--to", "pod/web:53", "--proto", "udp",
                     "--payload", "hello", "-o", "json", "-f", "cluster/external"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["protocol"] == "UDP" and data["packet"]["packet"].startswith("UDP ")
    assert data["packet"]["outcome"] == "no-listener" and data["deliveredTo"] is None
    # the kernel's answer: ICMP port unreachable, delivered back to the sending socket
    assert data["reply"]["packet"].startswith("ICMP ") and data["reply"]["outcome"] == "delivered"


def test_trace_bad_target_is_exit_2(capsys) -> None:
    assert cli.main(["trace", "--from", "pod/client", "--to", "svc/nope:80", "-f", "cluster/quickstart"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope" in err


def test_trace_brief_keeps_the_deciding_rules_only(capsys) -> None:
    argv = ["trace", "--from", "pod/client", "--to", "svc/web:80", "-f", "cluster/quickstart"]
    assert cli.main(argv) == 0
    full = capsys.readouterr().out
    assert cli.main([*argv, "--brief"]) == 0
    brief = capsys.readouterr().out
    assert len(brief.splitlines()) < len(full.splitlines())
    assert "-j DNAT --to-destination" in brief and "KUBE-SVC-" in brief and "rewrote tcp" in brief
    assert "neigh " not in brief and "bridge " not in brief and "filter/FORWARD: policy ACCEPT" not in brief
    assert "KUBE-FORWARD#3" in brief  # the reply is accepted by the conntrack rule: a decision, kept
    assert brief.split("summary:")[1] == full.split("summary:")[1]
