"""`netsim iptables-save --node NAME`: a node's ruleset as kube-proxy wrote it and iptables-save prints it."""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim iptables-save`."""
    parser = sub.add_parser("iptables-save", help="a node's rules as iptables-save prints them")
    parser.add_argument("--node", required=True, metavar="NAME")
    add_cluster_options(parser)
    parser.set_defaults(handler=_save)


def _save(args: argparse.Namespace) -> int:
    from netsim.emulator.proxy import node_ruleset_text

    cluster = cluster_inputs(args).build()
    sys.stdout.write(node_ruleset_text(cluster, args.node))
    return 0
