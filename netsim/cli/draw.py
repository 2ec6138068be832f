"""`netsim draw -o FILE.svg [--from X --to Y]`: the topology as SVG, with a traced packet's path when one is named."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim draw`."""
    parser = sub.add_parser("draw", help="the topology as an SVG picture, with a traced packet's path")
    parser.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="FILE.svg (or FILE.png when cairosvg is installed); - for SVG on stdout")
    parser.add_argument("--from", dest="source", metavar="SRC", help="trace from here (with --to)")
    parser.add_argument("--to", dest="destination", metavar="DST", help="trace to here (with --from)")
    parser.add_argument("--proto", default="TCP", type=str.upper, choices=("TCP", "UDP"))
    parser.add_argument("--payload", default="")
    parser.add_argument("--layout-seed", type=int, default=0, metavar="N", help="seed of the layout (0)")
    add_cluster_options(parser)
    parser.set_defaults(handler=_draw)


def _draw(args: argparse.Namespace) -> int:
    from netsim.api.errors import FieldError
    from netsim.emulator.emulator import Emulator
    from netsim.verify.draw import layout, render_svg, svg_to_png, topology_graph

    if (args.source is None) != (args.destination is None):
        raise FieldError("give both --from and --to to draw a path, or neither", "--from/--to")
    suffix = Path(args.output).suffix.lower() if args.output != "-" else ".svg"
    if suffix not in (".svg", ".png"):
        raise FieldError(f"must end in .svg or .png, got {args.output!r}", "--output")
    if args.source is not None:
        from netsim.cli.trace import traced

        args.pcap_dir = None
        emulator, trace = traced(args)
        request, reply = trace.packet.hosts, trace.reply.hosts if trace.reply else ()
        title = f"{args.proto} {trace.source} -> {trace.target}: {trace.packet.verdict()}"
    else:
        emulator = Emulator(cluster_inputs(args).build())
        request, reply, title = (), (), "topology"
    nodes = [n.name for n in emulator.cluster.store.list("Node")]
    graph = topology_graph(emulator.network, nodes)
    svg = render_svg(graph, layout(graph, args.layout_seed, request, reply), title)
    if suffix == ".png":
        Path(args.output).write_bytes(svg_to_png(svg))
    elif args.output == "-":
        sys.stdout.write(svg)
    else:
        Path(args.output).write_text(svg, encoding="utf-8")
    return 0
