"""`netsim iptables -t TABLE -nL [CHAIN] [--line-numbers] --node NAME`: a node's chains as `iptables -L -n` lists them.

The node's ruleset is the one `netsim iptables-save --node NAME` prints
(kube-proxy's rules plus portmap's hostPort chains); the listing is
netsim.netfilter.listing's, in iptables 1.8.9's layout. Like iptables, the
table defaults to filter and a missing chain is an error. Only numeric output
exists, so `-n` is required.
"""

from __future__ import annotations

import argparse
import sys

from netsim.cli.iptables import add_kube_proxy_options, node_rules
from netsim.cli.options import add_cluster_options


def register(sub) -> None:
    """`netsim iptables`."""
    parser = sub.add_parser("iptables", help="a node's chains as iptables -nL lists them")
    parser.add_argument("-t", "--table", default="filter", metavar="TABLE",
                        help="filter (default), nat, mangle, raw or security")
    parser.add_argument("-L", "--list", dest="list_chain", nargs="?", const="", default=None, metavar="CHAIN",
                        help="list every chain of the table, or CHAIN")
    parser.add_argument("-n", "--numeric", action="store_true", help="numeric addresses and ports (required)")
    parser.add_argument("--line-numbers", action="store_true", help="number each chain's rules")
    add_kube_proxy_options(parser)
    add_cluster_options(parser)
    parser.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from netsim.errors import InputError
    from netsim.netfilter import parse_ruleset
    from netsim.netfilter.listing import list_table

    if args.list_chain is None:
        raise InputError("netsim iptables: only listing is emulated: give -L [CHAIN] (with -n)")
    ruleset = parse_ruleset(node_rules(args), f"node {args.node}")
    sys.stdout.write(list_table(ruleset, args.table, args.list_chain or None, line_numbers=args.line_numbers,
                                numeric=args.numeric))
    return 0
