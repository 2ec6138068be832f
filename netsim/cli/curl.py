"""`netsim curl`: one HTTP request sent as packets, through Ingress or Gateway proxies, printed with the path it took.

`netsim curl [--from POD|external] URL [-H 'Name: value']... [-X METHOD] [-d DATA]
[--resolve HOST:PORT:ADDRESS] [-o text|json] [--pcap-dir DIR]` sends the
request as curl 8 does (Host, User-Agent, Accept), over a TCP connection
from the origin (default: the external client), and prints the response as
`curl -i` does, then the path: the client's connection (hosts, NAT) and, for
every proxy the request crossed, its decision and the upstream connection
from the proxy pod to the endpoint. Exit code 0 when a response came, 7 when
the connection failed (curl's "couldn't connect"), 52 when nothing came
back (curl's "empty reply").
"""

from __future__ import annotations

import argparse
import json
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs
from netsim.errors import InputError


def register(sub) -> None:
    """`netsim curl`."""
    p = sub.add_parser("curl", help="one HTTP request as packets (Ingress, Gateway, Services), with the path it took")
    p.add_argument("url", metavar="URL", help="http://HOST[:PORT]/PATH (HOST an address, or a name)")
    p.add_argument("--from", dest="origin", default="external", metavar="POD|external",
                   help="where the request starts: external (default), pod/[NS/]NAME (or NAME), node/NAME")
    p.add_argument("-H", "--header", dest="headers", action="append", default=[], metavar="'Name: value'")
    p.add_argument("-X", "--request", dest="method", default=None, metavar="METHOD")
    p.add_argument("-d", "--data", default=None, metavar="DATA", help="request body (makes the method POST)")
    p.add_argument("--resolve", action="append", default=[], metavar="HOST:PORT:ADDRESS",
                   help="use ADDRESS for HOST (as curl's --resolve)")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument("--pcap-dir", metavar="DIR", help="write the packets as pcaps here")
    add_cluster_options(p)
    p.set_defaults(handler=_curl)


def parse_headers(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`-H 'Name: value'` arguments as (name, value) pairs."""
    out = []
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            raise InputError(f"curl: -H takes 'Name: value', got {value!r}")
        out.append((name.strip(), rest.strip()))
    return tuple(out)


def _path_lines(walk, indent: str) -> list[str]:
    from netsim.verify.summary import packet_path, rewrite_text

    path = packet_path(walk)
    lines = [f"{indent}path: {' -> '.join(path.hosts)}"]
    lines += [f"{indent}{rewrite_text(rw)}" for rw in path.rewrites]
    end = f"{path.outcome.value} to {path.end_host}" + (f" ({path.app})" if path.app else "")
    return lines + [f"{indent}{end}"]


def format_result(result) -> str:
    """`curl -i`'s output, then where the request went."""
    out = []
    if result.response is not None:
        out.append(result.response.encode().decode("utf-8", "replace").rstrip("\n"))
    else:
        out.append(f"curl: {result.error}")
    out.append("")
    out.append(f"request: {result.request.method} {result.request.target} from {result.origin} "
               f"to {result.address}:{result.port} (source port {result.exchange.sport})")
    if result.exchange.walks:
        out += _path_lines(result.exchange.walks[0], "  ")
    for leg in result.legs:
        out.append(f"proxy: {leg.proxy}: {leg.decision}")
        if leg.upstream is not None and leg.upstream.walks:
            out.append(f"  upstream connection from source port {leg.upstream.sport}")
            out += _path_lines(leg.upstream.walks[0], "    ")
        out.append(f"  answered {leg.response.status}" if leg.response.status else "  relayed")
    return "\n".join(out) + "\n"


def _curl(args: argparse.Namespace) -> int:
    from netsim.capture.points import CaptureSet
    from netsim.emulator.emulator import Emulator
    from netsim.emulator.ingress import curl

    headers = parse_headers(args.headers)
    resolve = {}
    for item in args.resolve:
        parts = item.split(":")
        if len(parts) != 3:
            raise InputError(f"curl: --resolve takes HOST:PORT:ADDRESS, got {item!r}")
        resolve[parts[0]] = parts[2]
    body = args.data.encode() if args.data is not None else b""
    method = args.method or ("POST" if args.data is not None else "GET")
    emulator = Emulator(cluster_inputs(args).build(), CaptureSet(args.pcap_dir) if args.pcap_dir else None)
    try:
        result = curl(emulator, args.url, args.origin, headers, method, body, resolve)
    finally:
        emulator.close()
    if args.output == "json":
        from netsim.verify.summary import packet_path

        data = {"origin": result.origin, "address": str(result.address), "port": result.port,
                "request": result.request.encode().decode("latin-1"),
                "status": result.response.status if result.response else None,
                "response": result.response.encode().decode("utf-8", "replace") if result.response else None,
                "error": result.error,
                "path": list(packet_path(result.exchange.walks[0]).hosts) if result.exchange.walks else [],
                "proxies": [{"proxy": leg.proxy, "decision": leg.decision,
                             "endpoint": f"{leg.endpoint.address}:{leg.endpoint.port}" if leg.endpoint else None,
                             "status": leg.response.status or None,
                             "upstream_path": list(packet_path(leg.upstream.walks[0]).hosts)
                             if leg.upstream is not None and leg.upstream.walks else []} for leg in result.legs]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(format_result(result))
    if result.response is not None:
        return 0
    return 7 if not result.exchange.connected else 52
