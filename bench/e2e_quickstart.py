"""End-to-end packets per second on the quickstart cluster, against building the same frames with scapy.

Run: `.venv/bin/python bench/e2e_quickstart.py [--connections 2000] [--cni bridge|vxlan|ptp]`.
Prints figures, asserts nothing.

What is timed: `Emulator.send` of pod/client → service/web:80, one TCP SYN
per connection, walked through the client pod, the nodes' netfilter
(kube-proxy's rules, conntrack, DNAT), bridges/routes/ARP (or the vxlan
overlay), to a web pod, and the SYN-ACK back through conntrack's un-DNAT to
the client, with every frame at every capture point written to pcapng
files. A "frame" is one capture record (one packet at one interface, in or
out). The scapy figure is the cost of only building and serializing those
same frames (Ether/IP/TCP or ARP, `bytes(...)`) — no routing, no rules, no
capture — i.e. the floor a scapy-on-the-hot-path emulator would pay per hop.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from netsim.api.load import load_paths
from netsim.api.topology import CNI, load_topology
from netsim.capture.points import CaptureSet
from netsim.dataplane.trace import StepKind
from netsim.emulator.cluster import Cluster
from netsim.emulator.emulator import Emulator
from netsim.emulator.traffic import FlowSpec
from netsim.emulator.wiring import CaptureSink
from netsim.packet.scapy_bridge import to_scapy

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class TeeSink:
    """Writes frames to the capture files and keeps them, so scapy can rebuild the same ones."""

    inner: CaptureSink
    keep: bool = False
    frames: list = field(default_factory=list)

    def frame(self, time_, host, iface, direction, frame) -> None:
        self.inner.frame(time_, host, iface, direction, frame)
        if self.keep:
            self.frames.append(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000, help="connections to time")
    parser.add_argument("--cni", choices=[m.value for m in CNI], default="bridge")
    args = parser.parse_args()

    topology = replace(load_topology(ROOT / "topologies/three-node.yaml"), cni=CNI(args.cni))
    started = time.perf_counter()
    cluster = Cluster.build(topology, load_paths([ROOT / "cluster/quickstart"]), seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        capture = CaptureSet(Path(tmp))
        emulator = Emulator(cluster, capture)
        built = time.perf_counter() - started
        sink = TeeSink(CaptureSink(capture))
        emulator.network.sink = sink
        emulator.send(FlowSpec("warm-up", "pod/client", "service/web:80", count=20))  # ARP caches filled
        sink.keep = True
        emulator.send(FlowSpec("sample", "pod/client", "service/web:80", count=2))
        sample = list(sink.frames)
        sink.keep = False

        flow = FlowSpec("bench", "pod/client", "service/web:80", count=args.connections)
        start = time.perf_counter()
        connections = emulator.send(flow)
        elapsed = time.perf_counter() - start
        emulator.close()
        pcap_bytes = sum(p.stat().st_size for p in capture.paths().values())

    delivered = sum(1 for c in connections if c.result.received)
    frames = sum(1 for c in connections for s in c.result.steps if s.kind in (StepKind.FRAME_IN, StepKind.FRAME_OUT))
    packets = sum(len(c.result.dispositions) for c in connections)

    scapy_frames = [f for f in sample if f is not None]
    count, scapy_start = 0, time.perf_counter()
    while time.perf_counter() - scapy_start < 1.0:
        for frame in scapy_frames:
            bytes(to_scapy(frame))
        count += len(scapy_frames)
    scapy_per_frame = (time.perf_counter() - scapy_start) / count

    per_frame = elapsed / frames
    print(f"quickstart, cni {args.cni}: cluster built and wired in {built * 1e3:.0f} ms")
    print(f"{args.connections} connections (SYN out, SYN-ACK back; {delivered} answered) in {elapsed:.2f} s")
    print(f"  {args.connections / elapsed:10.0f} connections/s")
    print(f"  {packets / elapsed:10.0f} packets/s end to end ({packets / args.connections:.1f} packets per "
          f"connection: SYN, SYN-ACK)")
    print(f"  {frames / elapsed:10.0f} captured frames/s ({frames / args.connections:.1f} frames per connection, "
          f"{per_frame * 1e6:.1f} us each, routing + netfilter + conntrack + pcapng included; "
          f"{pcap_bytes / 1e6:.1f} MB of pcapng)")
    print(f"scapy, building and serializing the same frames only: {scapy_per_frame * 1e6:.1f} us per frame, "
          f"{1 / scapy_per_frame:.0f} frames/s")
    print(f"  -> scapy per hop would cost {scapy_per_frame / per_frame:.1f}x netsim's whole per-frame cost, "
          f"i.e. at most {1 / (scapy_per_frame * frames / args.connections):.0f} connections/s")


if __name__ == "__main__":
    main()
