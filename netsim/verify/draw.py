"""The topology as an SVG picture, and the path a traced packet took through it.

Vertices are the emulator's hosts (nodes, pods, the external client) and its
L2 segments; edges are veth pairs and segment ports. Positions come from
networkx's spring layout with a fixed seed over a graph built in name
order, rounded to 0.1 px, so the same cluster gives byte-identical SVG.
With a trace, the hosts the packet crossed are numbered in order and the
links between consecutive hosts (the shortest way through the segments)
are drawn in red, the reply's in blue. PNG needs a rasterizer that is
installed (cairosvg); without one it raises NotImplementedFeature.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import networkx as nx

from netsim.dataplane.network import Network
from netsim.errors import NotImplementedFeature

WIDTH, HEIGHT, MARGIN = 1200, 900, 80
REQUEST, REPLY = "#d62728", "#1f77b4"
SEGMENT_PREFIX = "segment:"


@dataclass(frozen=True, slots=True)
class Picture:
    """A laid-out graph: vertex positions (rounded) and kinds, edges with labels, the highlighted paths."""

    positions: tuple[tuple[str, float, float, str], ...]  # (vertex, x, y, kind)
    edges: tuple[tuple[str, str, str], ...]                 # (a, b, label)
    request: tuple[str, ...] = ()                           # hosts of the packet, in order
    reply: tuple[str, ...] = ()                             # hosts of the reply, in order


def topology_graph(network: Network, node_names: Sequence[str]) -> nx.Graph:
    """Hosts and segments as vertices (kind: node, pod, external, segment); veths and segment ports as edges."""
    graph = nx.Graph()
    nodes = set(node_names)
    for name in sorted(network.hosts):
        kind = "node" if name in nodes else "pod" if "/" in name else "external"
        graph.add_node(name, kind=kind)
    for segment in network.segments():
        graph.add_node(SEGMENT_PREFIX + segment, kind="segment")
    for name in sorted(network.hosts):
        for iface_name, iface in sorted(network.hosts[name].interfaces.items()):
            peer = getattr(iface, "peer", None)
            if peer is not None and name < peer[0]:
                graph.add_edge(name, peer[0], label=f"{iface_name} - {peer[1]}")
    for segment in network.segments():
        for host, iface in network.segment_members(segment):
            graph.add_edge(host, SEGMENT_PREFIX + segment, label=iface)
    return graph


def layout(graph: nx.Graph, seed: int = 0, request: Sequence[str] = (), reply: Sequence[str] = ()) -> Picture:
    """Positions from a seeded spring layout, scaled to the canvas and rounded."""
    raw = nx.spring_layout(graph, seed=seed, k=1.6 / max(1, len(graph)) ** 0.5, iterations=200)
    xs = [p[0] for p in raw.values()] or [0.0]
    ys = [p[1] for p in raw.values()] or [0.0]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    positions = []
    for name in sorted(graph):
        x = MARGIN + (raw[name][0] - min(xs)) / span_x * (WIDTH - 2 * MARGIN)
        y = MARGIN + (raw[name][1] - min(ys)) / span_y * (HEIGHT - 2 * MARGIN)
        positions.append((name, round(float(x), 1), round(float(y), 1), graph.nodes[name]["kind"]))
    edges = tuple(sorted((min(a, b), max(a, b), d.get("label", "")) for a, b, d in graph.edges(data=True)))
    return Picture(tuple(positions), edges, tuple(request), tuple(reply))


def _route_edges(graph: nx.Graph, hosts: Sequence[str]) -> list[tuple[str, str]]:
    """The graph edges between consecutive hosts of a path (through segments when hosts share one)."""
    out = []
    for a, b in zip(hosts, hosts[1:]):
        if a in graph and b in graph and nx.has_path(graph, a, b):
            walk = nx.shortest_path(graph, a, b)
            out += [(min(u, v), max(u, v)) for u, v in zip(walk, walk[1:])]
    return out


def render_svg(graph: nx.Graph, picture: Picture, title: str = "") -> str:
    """The picture as SVG text."""
    where = {name: (x, y) for name, x, y, _ in picture.positions}
    req, rep = set(_route_edges(graph, picture.request)), set(_route_edges(graph, picture.reply))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append(f'<text x="{MARGIN / 4}" y="24" font-size="16">{escape(title)}</text>')
    for a, b, label in picture.edges:
        (x1, y1), (x2, y2) = where[a], where[b]
        colour, width = ("#999999", 1.5)
        if (a, b) in req:
            colour, width = REQUEST, 4
        elif (a, b) in rep:
            colour, width = REPLY, 4
        out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="{width}">'
                   f'<title>{escape(label)}</title></line>')
        if (a, b) in req and (a, b) in rep:
            out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{REPLY}" stroke-width="1.5" '
                       f'stroke-dasharray="6 4"/>')
    shapes = {"node": "rect", "segment": "diamond", "external": "rect", "pod": "circle"}
    fills = {"node": "#fde7c0", "segment": "#dddddd", "external": "#e0e0ff", "pod": "#d9f2d9"}
    for name, x, y, kind in picture.positions:
        shape = shapes[kind]
        if shape == "rect":
            out.append(f'<rect x="{round(x - 45, 1)}" y="{round(y - 16, 1)}" width="90" height="32" rx="4" '
                       f'fill="{fills[kind]}" stroke="#333333"/>')
        elif shape == "diamond":
            out.append(f'<polygon points="{x},{round(y - 14, 1)} {round(x + 14, 1)},{y} {x},{round(y + 14, 1)} '
                       f'{round(x - 14, 1)},{y}" fill="{fills[kind]}" stroke="#333333"/>')
        else:
            out.append(f'<circle cx="{x}" cy="{y}" r="12" fill="{fills[kind]}" stroke="#333333"/>')
        label = name[len(SEGMENT_PREFIX):] if kind == "segment" else name
        out.append(f'<text x="{x}" y="{round(y + 30, 1)}" text-anchor="middle">{escape(label)}</text>')
    for colour, hosts, dy in ((REQUEST, picture.request, -22), (REPLY, picture.reply, -36)):
        steps: dict[str, list[str]] = {}
        for number, host in enumerate(hosts, start=1):
            steps.setdefault(host, []).append(str(number))
        for host, numbers in sorted(steps.items()):
            if host in where:
                x, y = where[host]
                out.append(f'<text x="{x}" y="{round(y + dy, 1)}" text-anchor="middle" fill="{colour}" '
                           f'font-weight="bold">{",".join(numbers)}</text>')
    if picture.request:
        out.append(f'<text x="{MARGIN / 4}" y="{HEIGHT - 30}" fill="{REQUEST}">packet: '
                   f'{escape(" -> ".join(picture.request))}</text>')
    if picture.reply:
        out.append(f'<text x="{MARGIN / 4}" y="{HEIGHT - 12}" fill="{REPLY}">reply: '
                   f'{escape(" -> ".join(picture.reply))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def svg_to_png(svg: str) -> bytes:
    """PNG bytes of an SVG, with cairosvg when it is installed; NotImplementedFeature otherwise."""
    if importlib.util.find_spec("cairosvg") is None:
        raise NotImplementedFeature("PNG output needs cairosvg, which is not installed; write SVG instead "
                                    "(-o FILE.svg) or install cairosvg")
    cairosvg = importlib.import_module("cairosvg")
    return cairosvg.svg2png(bytestring=svg.encode())
