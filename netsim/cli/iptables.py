"""`netsim iptables-save --node NAME`: a node's ruleset (kube-proxy's, plus the CNI portmap plugin's hostPort chains).

By default it prints what `iptables-save` prints on the node once the rules are
loaded: netsim.netfilter's normalization of the text written to
iptables-restore (built-in chains first, user chains sorted, `-d IP/32 -p udp
-m comment ...`). `--restore-input` prints instead what kube-proxy wrote
(`-m comment --comment ... -m udp -p udp -d IP --dport 53 ...`, in the canonical
order of kube-proxy's tests), without the portmap chains. `--kube-proxy-config
FILE` runs every node's kube-proxy with that KubeProxyConfiguration instead of
kind's (plus the topology's netsim.kubeProxy).
"""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def add_kube_proxy_options(parser: argparse.ArgumentParser) -> None:
    """--node (required) and --kube-proxy-config, shared with `netsim iptables`."""
    parser.add_argument("--node", required=True, metavar="NAME")
    parser.add_argument("--kube-proxy-config", metavar="FILE",
                        help="KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1) for every node's "
                             "kube-proxy; default: kind's, with the topology's netsim.kubeProxy")


def register(sub) -> None:
    """`netsim iptables-save`."""
    parser = sub.add_parser("iptables-save", help="a node's rules as iptables-save prints them")
    add_kube_proxy_options(parser)
    parser.add_argument("--restore-input", action="store_true",
                        help="print kube-proxy's iptables-restore input as kube-proxy writes it")
    add_cluster_options(parser)
    parser.set_defaults(handler=_save)


def node_rules(args: argparse.Namespace, restore_input: bool = False) -> str:
    """The named node's ruleset text: the iptables-restore input, or kube-proxy's part of it."""
    from netsim.api.errors import NotFound
    from netsim.emulator.proxy import node_ruleset_text
    from netsim.emulator.wiring import node_ruleset
    from netsim.kubeproxy.config import load_config_file

    override = load_config_file(args.kube_proxy_config) if args.kube_proxy_config else None
    cluster = cluster_inputs(args).build()
    node = cluster.store.try_get("Node", args.node)
    if node is None:
        names = ", ".join(n.name for n in cluster.store.list("Node"))
        raise NotFound(f'nodes "{args.node}" not found (nodes: {names})')
    if restore_input:
        return node_ruleset_text(cluster, args.node, override)
    return node_ruleset(cluster, node, override)  # type: ignore[arg-type]


def _save(args: argparse.Namespace) -> int:
    from netsim.netfilter import parse_ruleset

    text = node_rules(args, args.restore_input)
    if not args.restore_input:
        text = str(parse_ruleset(text, f"node {args.node}").normalized())
    sys.stdout.write(text)
    return 0
