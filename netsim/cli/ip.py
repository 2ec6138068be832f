"""`netsim ip --host NAME addr|route|neigh`: a host's interfaces, routes and neighbours, as iproute2 shows them.

Hosts are the emulator's (netsim/emulator/wiring.py): a node by its name, a
pod by `namespace/name`, the outside client as `external`. `--host` left out
lists the hosts. Neighbours are what the wiring set (flannel's permanent
entries); ARP-learned ones appear only after traffic, which this command
does not send.
"""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs

OBJECTS = ("addr", "route", "neigh")


def register(sub) -> None:
    """`netsim ip`."""
    parser = sub.add_parser("ip", help="a host's addresses, routes or neighbours, as `ip` shows them")
    parser.add_argument("object", nargs="?", choices=OBJECTS, default="addr")
    parser.add_argument("--host", metavar="NAME", help="a node, namespace/pod or external (default: list the hosts)")
    parser.add_argument("--table", choices=("main", "local"), default="main", help="routing table for `route`")
    add_cluster_options(parser)
    parser.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    from netsim.emulator.wiring import build_network

    network = build_network(cluster_inputs(args).build())
    if args.host is None:
        sys.stdout.write("".join(name + "\n" for name in sorted(network.hosts)))
        return 0
    host = network.host(args.host)
    if args.object == "route":
        sys.stdout.write(host.route_show(args.table))
    elif args.object == "neigh":
        sys.stdout.write(host.neigh_show())
    else:
        sys.stdout.write(host.addr_show())
    return 0
