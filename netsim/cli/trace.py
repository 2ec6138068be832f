"""`netsim trace --from X --to Y[:PORT]`: one packet and its reply, hop by hop across hosts, rules and NAT included."""

from __future__ import annotations

import argparse
import json
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim trace`."""
    parser = sub.add_parser("trace", help="one packet and its reply, hop by hop: interfaces, routes, the rules "
                                          "that matched, NAT, the verdict")
    add_flow_options(parser)
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--brief", action="store_true",
                        help="text: only the netfilter tables that decided something; no ARP or bridge lines")
    parser.add_argument("--pcap-dir", metavar="DIR", help="also write the trace's frames as pcaps here")
    add_cluster_options(parser)
    parser.set_defaults(handler=_trace)


def add_flow_options(parser: argparse.ArgumentParser) -> None:
    """--from, --to, --proto and --payload, as `trace` and `draw` take them."""
    parser.add_argument("--from", dest="source", required=True, metavar="SRC",
                        help="pod/[NS/]NAME, node/NAME or external")
    parser.add_argument("--to", dest="destination", required=True, metavar="DST",
                        help="svc/[NS/]NAME:PORT, pod/[NS/]NAME:PORT, nodeport/SVC@NODE:PORT, "
                             "loadbalancer/NAME:PORT, node/NAME:PORT or IP:PORT")
    parser.add_argument("--proto", default="TCP", type=str.upper, choices=("TCP", "UDP"), help="protocol (TCP)")
    parser.add_argument("--payload", default="", help="UDP payload (text)")


def traced(args: argparse.Namespace):
    """(emulator, PathTrace) for the flow the options name."""
    from netsim.capture.points import CaptureSet
    from netsim.emulator.emulator import Emulator
    from netsim.emulator.traffic import FlowSpec
    from netsim.verify.observe import observe
    from netsim.verify.trace import path_trace

    cluster = cluster_inputs(args).build()
    capture = CaptureSet(args.pcap_dir) if getattr(args, "pcap_dir", None) else None
    emulator = Emulator(cluster, capture)
    flow = FlowSpec.from_dict({"from": args.source, "to": args.destination, "protocol": args.proto,
                               "payload": args.payload}, 0)
    try:
        (connection,) = emulator.send(flow, "--from/--to")
    finally:
        emulator.close()
    return emulator, path_trace(observe(cluster.store, connection), args.proto)


def _trace(args: argparse.Namespace) -> int:
    _, trace = traced(args)
    if args.output == "json":
        sys.stdout.write(json.dumps(trace.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(trace.format(brief=args.brief))
    return 0
