"""`netsim distribution --to svc/NS/NAME[:PORT] --flows N`: where N new connections land, chi-square tested."""

from __future__ import annotations

import argparse
import json
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim distribution`."""
    parser = sub.add_parser("distribution", help="a Monte Carlo of N new connections to a Service: counts per "
                                                 "endpoint, chi-square against the expected split")
    parser.add_argument("--to", dest="destination", required=True, metavar="DST",
                        help="svc/[NS/]NAME[:PORT], nodeport/SVC@NODE:PORT or loadbalancer/NAME:PORT")
    parser.add_argument("--flows", type=int, default=1000, metavar="N", help="new connections to draw (1000)")
    parser.add_argument("--from", dest="source", metavar="SRC",
                        help="pod/[NS/]NAME, node/NAME or external (default: the first running pod the "
                             "Service does not select)")
    parser.add_argument("--proto", default="TCP", type=str.upper, choices=("TCP", "UDP"))
    parser.add_argument("--sample", type=int, default=200, metavar="K",
                        help="connections also walked packet by packet, to check the draw against (200)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    add_cluster_options(parser)
    parser.set_defaults(handler=_distribution)


def _distribution(args: argparse.Namespace) -> int:
    from netsim.api.errors import FieldError
    from netsim.emulator.emulator import Emulator
    from netsim.emulator.traffic import FlowSpec
    from netsim.verify.distribution import distribution
    from netsim.verify.targets import default_source, with_default_port

    if not 1 <= args.flows <= 10_000_000:
        raise FieldError(f"must be between 1 and 10000000, got {args.flows}", "--flows")
    if args.sample < 0:
        raise FieldError(f"must not be negative, got {args.sample}", "--sample")
    cluster = cluster_inputs(args).build()
    destination = with_default_port(cluster.store, args.destination, args.proto)
    source = args.source or default_source(cluster.store, destination)
    emulator = Emulator(cluster)
    flow = FlowSpec.from_dict({"from": source, "to": destination, "protocol": args.proto}, 0)
    result = distribution(emulator, flow, args.flows, args.sample)
    if args.output == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(result.format())
    return 0
