"""`netsim iptables-trace` on a real machine's saved ruleset (a Docker host)."""

from __future__ import annotations

import json
from pathlib import Path

from netsim.cli.main import main

DOCKER = Path(__file__).resolve().parents[1] / "netfilter" / "data" / "docker_host.saved"


def test_published_port_is_dnated_forwarded_and_accepted(capsys) -> None:
    code = main(["iptables-trace", "--rules", str(DOCKER), "--src", "203.0.113.5", "--dst", "172.17.0.1",
                 "--dport", "8080", "--in", "eth0", "--out", "docker0", "--local-ip", "172.17.0.1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80" in out
    assert out.splitlines()[0] == "PREROUTING in=eth0: ACCEPT"
    assert "FORWARD in=eth0 out=docker0: ACCEPT" in out
    assert out.rstrip().endswith("verdict: ACCEPT; the packet as it leaves: tcp 203.0.113.5:40000 > 172.17.0.2:80 [S]")


def test_json_output_and_input_hook_for_a_local_destination(capsys) -> None:
    code = main(["iptables-trace", "--rules", str(DOCKER), "--src", "203.0.113.5", "--dst", "172.17.0.1",
                 "--dport", "22", "--in", "eth0", "--local-ip", "172.17.0.1", "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [h["hook"] for h in data["hooks"]] == ["PREROUTING", "INPUT"]
    assert data["verdict"] == "ACCEPT"


def test_bad_address_is_exit_2(capsys) -> None:
    code = main(["iptables-trace", "--rules", str(DOCKER), "--src", "nope", "--dst", "172.17.0.1", "--local"])
    assert code == 2
    assert capsys.readouterr().err == "error: --src: not an IP address: 'nope'\n"


def test_conntrack_lists_the_quickstart_connections_on_the_clients_node(capsys, monkeypatch) -> None:
    from netsim.api.load import load_paths
    from netsim.api.topology import load_topology
    from netsim.emulator.cluster import Cluster

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    cluster = Cluster.build(load_topology(root / "topologies/three-node.yaml"), load_paths([root / "cluster/quickstart"]))
    client = cluster.store.get("Pod", "client", "default")
    svc = cluster.store.get("Service", "web", "default")
    code = main(["conntrack", "-L", "--node", client.node_name])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4
    for line in lines:
        # the original tuple is the client's view, the reply tuple names the backend that answered
        assert line.startswith(f"tcp      6 ") and f"src={client.pod_ip} dst={svc.cluster_ip}" in line
        assert "dport=80 src=10.244." in line
    assert err == "conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.\n"
