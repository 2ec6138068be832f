"""`netsim dig` and `netsim resolve`: DNS queries sent as packets from a pod or node, answered by the cluster's CoreDNS.

`netsim dig [@SERVER] [--from POD|node/NAME] NAME [TYPE] [+tcp] [-o json]` prints
the answer as dig does (server: the cluster DNS address; origin: the first
node). `netsim resolve --from POD NAME` shows every query glibc's resolver
sends for getaddrinfo(NAME) with the pod's resolv.conf, with simulated time,
until the answer.
"""

from __future__ import annotations

import argparse
import json
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim dig` and `netsim resolve`."""
    dig = sub.add_parser("dig", help="one DNS query as a packet, the answer printed as dig prints it")
    _dig_options(dig)
    dig.add_argument("words", nargs=argparse.REMAINDER, metavar="[@SERVER] NAME [TYPE]")
    dig.set_defaults(handler=_dig)
    res = sub.add_parser("resolve", help="every query glibc's resolver sends for a name, until the answer")
    res.add_argument("name", metavar="NAME")
    res.add_argument("--from", dest="origin", required=True, metavar="POD|node/NAME")
    res.add_argument("--family", choices=("unspec", "inet", "inet6"), default="unspec",
                     help="getaddrinfo's ai_family: A and AAAA (unspec), A only, AAAA only")
    res.add_argument("-o", "--output", choices=("text", "json"), default="text")
    res.add_argument("--pcap-dir", metavar="DIR", help="write the packets as pcaps here")
    add_cluster_options(res)
    res.set_defaults(handler=_resolve)


def _dig_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="origin", metavar="POD|node/NAME",
                        help="where the query starts: pod/[NS/]NAME (or NAME) or node/NAME (default: the first node)")
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text")
    parser.add_argument("--pcap-dir", metavar="DIR", help="write the packets as pcaps here")
    add_cluster_options(parser)


def dig_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """The dig options again, read from anywhere among the words (dig mixes options and arguments freely)."""
    inner = argparse.ArgumentParser(prog="netsim dig", add_help=False)
    _dig_options(inner)
    inner.add_argument("words", nargs="*")
    parsed = inner.parse_intermixed_args(args.words)
    for key, value in vars(parsed).items():
        if key != "words" and value in (None, "text") and getattr(args, key, None) not in (None, "text"):
            setattr(parsed, key, getattr(args, key))
    return parsed


def parse_dig_words(words: list[str]) -> tuple[str | None, str, str]:
    """(server, name, type) from dig's free-form arguments."""
    from netsim.dns.message import RRType
    from netsim.errors import InputError

    server = None
    rest = []
    for w in words:
        if w.startswith("@"):
            server = w[1:]
        elif w in ("+tcp", "+vc", "+notcp", "+novc"):
            continue
        elif w.startswith("+"):
            raise InputError(f"dig: netsim emulates the +tcp option only, got {w!r}")
        else:
            rest.append(w)
    if not rest or len(rest) > 2:
        raise InputError(f"dig takes [@SERVER] NAME [TYPE], got {' '.join(words)!r}")
    qtype = rest[1].upper() if len(rest) == 2 else "A"
    if qtype not in RRType.__members__ or qtype == "OPT":
        raise InputError(f"dig: unknown query type {rest[1]!r} (A, AAAA, SRV, PTR, CNAME, TXT, NS, SOA, MX, ANY)")
    return server, rest[0], qtype


def _emulator(args):
    from netsim.capture.points import CaptureSet
    from netsim.emulator.emulator import Emulator

    cluster = cluster_inputs(args).build()
    return Emulator(cluster, CaptureSet(args.pcap_dir) if args.pcap_dir else None)


def _hosts(walk) -> list[str]:
    from netsim.verify.summary import packet_path

    return [list(packet_path(walk, d.packet).hosts) for d in walk.dispositions]


def _dig(args: argparse.Namespace) -> int:
    from netsim.dns.dig import format_answer, format_no_answer
    from netsim.emulator.dnsquery import DIG_TRIES, DnsClient
    from netsim.verify.summary import message_dict

    args = dig_arguments(args)
    server, name, qtype = parse_dig_words(args.words)
    emulator = _emulator(args)
    try:
        tcp = any(w in ("+tcp", "+vc") for w in args.words)
        result = DnsClient(emulator).dig(name, qtype, server, args.origin, tcp=tcp)
    finally:
        emulator.close()
    command = " ".join(args.words)
    if args.output == "json":
        data = {"origin": result.origin.label, "server": str(result.server), "query": message_dict(result.query),
                "reply": message_dict(result.reply) if result.reply else None,
                "paths": [_hosts(w) for w in result.walks]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif result.reply is None:
        sys.stdout.write(format_no_answer(command=command, server=str(result.server), tries=DIG_TRIES,
                                          server_given=server is not None))
    else:
        sys.stdout.write(format_answer(result.reply, command=command, server=str(result.server), proto=result.proto,
                                       when=result.sent_at, size=result.reply_size, server_given=server is not None))
    return 0 if result.reply is not None else 9   # dig exits 9 when no reply came


def format_resolution(resolution, origin: str, resolv_conf: str, start: float) -> str:
    """`netsim resolve`'s text: the resolv.conf used, one line per query, the result (a scenario step's
    lines, verify/summary.py's, at the top level)."""
    from netsim.verify.summary import resolution_lines

    lines = [f"resolve {resolution.name} from {origin}"]
    lines += [line[2:] for line in resolution_lines(resolution, resolv_conf, start)]
    return "\n".join(lines) + "\n"


def _resolve(args: argparse.Namespace) -> int:
    from netsim.emulator.dnsquery import DnsClient
    from netsim.verify.summary import message_dict

    emulator = _emulator(args)
    try:
        client = DnsClient(emulator)
        start = emulator.cluster.clock.now()
        resolution = client.resolve(args.name, args.origin, args.family)
        conf = client.resolv_conf(args.origin)
        origin = client.origin(args.origin).label
    finally:
        emulator.close()
    if args.output == "json":
        data = {"name": resolution.name, "origin": origin, "resolv.conf": conf,
                "queries": [{"time": s.time - start, "server": s.server, "sport": s.sport, "proto": s.proto,
                             "query": message_dict(s.query), "outcome": s.outcome.value,
                             "reply": message_dict(s.reply) if s.reply else None} for s in resolution.steps],
                "answered": resolution.answered, "addresses": list(resolution.addresses),
                "h_errno": resolution.h_errno}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(format_resolution(resolution, origin, conf, start))
    return 0 if resolution.answered else 2
