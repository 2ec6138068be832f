"""The quickstart end to end: `netsim run` sends the traffic, says where it went, writes pcaps tshark reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from netsim.capture.pcapng import read_pcapng
from netsim.cli.main import main
from netsim.packet import Packet
from netsim.packet.wire import decode_frame

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory) -> tuple[str, Path]:
    pcaps = tmp_path_factory.mktemp("pcaps")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", str(ROOT / "cluster/quickstart"), "--pcap-dir", str(pcaps)])
    assert code == 0
    return out.getvalue(), pcaps


def cluster_facts():
    from netsim.api.load import load_paths
    from netsim.api.topology import load_topology
    from netsim.emulator.cluster import Cluster

    cluster = Cluster.build(load_topology(ROOT / "topologies/three-node.yaml"),
                            load_paths([ROOT / "cluster/quickstart"]), seed=0)
    store = cluster.store
    client = store.get("Pod", "client", "default")
    web = [p for p in store.list("Pod") if p.labels.get("app") == "web"]
    svc = store.get("Service", "web", "default")
    return client, web, svc


def test_summary_says_where_each_connection_went(quickstart_run) -> None:
    text, _ = quickstart_run
    client, web, svc = cluster_facts()
    assert f"client to web: TCP pod default/client -> service default/web ({svc.cluster_ip}:80), 4 connection(s)" \
        in text
    assert text.count(f"SYN-ACK from {svc.cluster_ip}:80 received by pod default/client") == 4
    backends = {f"{p.pod_ip}:8080" for p in web}
    dnat_lines = [line for line in text.splitlines() if line.strip().startswith("DNAT ")]
    assert len(dnat_lines) == 4
    dnat_targets = {line.split("->")[1].split()[0] for line in dnat_lines}
    assert dnat_targets <= backends and dnat_targets
    assert "reached: " in text


def packets_in(path: Path):
    """(interface name, decoded packet) for every IP frame of a pcapng file."""
    out = []
    for captured in read_pcapng(path.read_bytes()):
        frame = decode_frame(captured.frame)
        if isinstance(frame, Packet):
            out.append((captured.interface, frame))
    return out


def test_pcaps_hold_the_dnat_and_the_unnat(quickstart_run) -> None:
    _, pcaps = quickstart_run
    client, web, svc = cluster_facts()
    seen = packets_in(pcaps / "default_client.pcapng")
    syns = [p for _, p in seen if p.tcp_flags == 0x02]
    synacks = [p for _, p in seen if p.tcp_flags == 0x12]
    assert len(syns) == 4 and len(synacks) == 4
    assert {(str(p.src), str(p.dst), p.dport) for p in syns} == {(client.pod_ip, svc.cluster_ip, 80)}
    # the answer comes back from the ClusterIP: conntrack undid the DNAT
    assert {(str(p.src), p.sport, str(p.dst)) for p in synacks} == {(svc.cluster_ip, 80, client.pod_ip)}
    delivered = 0
    for pod in web:
        name = f"default_{pod.name}.pcapng"
        for iface, packet in packets_in(pcaps / name):
            if packet.tcp_flags == 0x02:
                assert (str(packet.dst), packet.dport) == (pod.pod_ip, 8080)
                assert iface == f"default/{pod.name}/eth0"
                delivered += 1
    assert delivered == 4


def test_same_seed_same_pcap_bytes(tmp_path: Path) -> None:
    import contextlib
    import io

    outputs = []
    for name in ("a", "b"):
        with contextlib.redirect_stdout(io.StringIO()):
            main(["run", str(ROOT / "cluster/quickstart"), "--pcap-dir", str(tmp_path / name)])
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert outputs[0] == outputs[1]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (.ci/run installs it)")
def test_tshark_reads_the_pcaps_with_the_expected_addresses(quickstart_run) -> None:
    _, pcaps = quickstart_run
    client, web, svc = cluster_facts()
    proc = subprocess.run(
        ["tshark", "-r", str(pcaps / "default_client.pcapng"), "-Y", "tcp",
         "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.srcport",
         "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack"],
        capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == 8
    for iface, src, dst, sport, dport, syn, ack in rows:
        assert iface == "default/client/eth0"
        if ack in ("1", "True"):
            assert (src, sport, dst) == (svc.cluster_ip, "80", client.pod_ip)
        else:
            assert (src, dst, dport) == (client.pod_ip, svc.cluster_ip, "80")
    # on the node that did the DNAT, the SYN leaves toward a backend pod's address
    proc = subprocess.run(["tshark", "-r", str(pcaps / f"{client.node_name}.pcapng"), "-Y",
                           "tcp.flags.syn==1 && tcp.flags.ack==0", "-T", "fields", "-e", "ip.dst"],
                          capture_output=True, text=True, check=True)
    assert set(proc.stdout.split()) - {svc.cluster_ip} <= {p.pod_ip for p in web}
    assert set(proc.stdout.split()) & {p.pod_ip for p in web}
