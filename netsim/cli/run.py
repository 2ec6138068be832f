"""`netsim run [PATH]`: build the scenario's cluster, send its traffic, say where it went, write pcaps."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet
from netsim.cli.inputs import DEFAULT_TOPOLOGY, QUICKSTART, project_path
from netsim.cli.options import add_cluster_options
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.verify.scenario import load_scenario
from netsim.verify.summary import describe, packet_path, reply_packet


def register(sub) -> None:
    """`netsim run [FOLDER]`."""
    parser = sub.add_parser("run", help="build the cluster, send the traffic, print where it went, write pcaps")
    parser.add_argument("path", nargs="?", help="a cluster folder (default: cluster/quickstart)")
    parser.add_argument("--pcap-dir", metavar="DIR", help="where pcaps go (default: pcaps/<scenario name>)")
    add_cluster_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run one scenario folder and print the summary; 0 when it ran."""
    folder = Path(args.path) if args.path else project_path(QUICKSTART)
    scenario = load_scenario(folder)
    topology_path = args.topology or scenario.topology or project_path(DEFAULT_TOPOLOGY)
    topology = load_topology(topology_path)
    seed = args.seed if args.seed is not None else (scenario.seed or 0)
    manifests = load_paths([folder, *(args.files or [])])
    cluster = Cluster.build(topology, manifests, seed=seed)
    pcap_dir = Path(args.pcap_dir) if args.pcap_dir else project_path("pcaps") / scenario.name
    capture = CaptureSet(pcap_dir)
    emulator = Emulator(cluster, capture)
    store = cluster.store
    pods = store.list("Pod")
    print(f"scenario {scenario.name}: topology {topology.name} ({_rel(topology_path)}), seed {seed}")
    print(f"cluster: {len(store.list('Node'))} nodes, {len(pods)} pods "
          f"({sum(1 for p in pods if p.phase == 'Running')} running), {len(store.list('Service'))} services")
    try:
        for index, flow in enumerate(scenario.traffic):
            connections = emulator.send(flow, f"{folder}: traffic[{index}]")
            first = connections[0]
            print()
            print(f"{flow.name}: {flow.protocol} {first.sender.label} -> {first.target.label} "
                  f"({first.target.address}:{first.target.port}), {len(connections)} connection(s)")
            reached: Counter = Counter()
            for number, conn in enumerate(connections, start=1):
                sent = packet_path(conn.result, 0)
                lines = describe(sent, f"  #{number} {conn.sender.address}:{conn.sport} -> "
                                       f"{conn.target.address}:{conn.target.port}")
                reached[sent.end_host if sent.app else f"{sent.outcome.value} on {sent.end_host}"] += 1
                reply = reply_packet(conn.result)
                if reply is not None:
                    back = conn.result.received[0] if conn.result.received else None
                    has_port = back is not None and back.proto in (6, 17, 132)
                    source = "" if back is None else f" from {back.src}:{back.sport}" if has_port else f" from {back.src}"
                    kind = _kind(back) if back is not None else "answer"
                    lines.append(f"    {kind}{source} received by {conn.sender.label}")
                else:
                    lines.append("    no answer reached the sender")
                print("\n".join(lines))
            summary = ", ".join(f"{name} x{n}" for name, n in sorted(reached.items()))
            print(f"  reached: {summary}")
    finally:
        emulator.close()
    files = sorted(capture.paths().values())
    print()
    print(f"pcaps: {len(files)} files in {_rel(pcap_dir)}/ ({', '.join(p.name for p in files)})")
    return 0


def _kind(packet) -> str:
    """What an answer is, in tcpdump's words (SYN-ACK, RST, UDP reply, ICMP error)."""
    from netsim.packet import Proto, TcpFlag

    if packet.proto == Proto.TCP:
        if packet.tcp_flags & TcpFlag.RST:
            return "RST"
        if packet.tcp_flags & TcpFlag.SYN and packet.tcp_flags & TcpFlag.ACK:
            return "SYN-ACK"
        return "TCP answer"
    if packet.proto == Proto.UDP:
        return "UDP answer"
    return f"ICMP type {packet.icmp_type} code {packet.icmp_code}"


def _rel(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
