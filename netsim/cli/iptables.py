"""`netsim iptables-save --node NAME`: a node's ruleset (kube-proxy's, plus the CNI portmap plugin's hostPort chains)."""

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
    from netsim.api.errors import NotFound
    from netsim.emulator.wiring import node_ruleset

    cluster = cluster_inputs(args).build()
    node = cluster.store.try_get("Node", args.node)
    if node is None:
        names = ", ".join(n.name for n in cluster.store.list("Node"))
        raise NotFound(f'nodes "{args.node}" not found (nodes: {names})')
    sys.stdout.write(node_ruleset(cluster, node))  # type: ignore[arg-type]
    return 0
