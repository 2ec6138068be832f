"""`netsim reach`: a reachability matrix, pods x (Service ports and pod ports), as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import sys

from netsim.cli.options import add_cluster_options, cluster_inputs


def register(sub) -> None:
    """`netsim reach`."""
    parser = sub.add_parser("reach", help="which pods reach which Service and pod ports, as a matrix")
    parser.add_argument("-n", "--namespace", help="only pods and Services in this namespace (default: all)")
    parser.add_argument("--samples", type=int, default=1, metavar="N",
                        help="connections per cell (a Service picks an endpoint at random per connection)")
    parser.add_argument("--only", choices=("services", "pods"), help="only Service ports or only pod ports")
    parser.add_argument("-o", "--output", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--model", action="store_true",
                        help="the NetworkPolicy e2e view: a pods x pods truth table per port and protocol "
                             "(. allowed, X blocked)")
    parser.add_argument("--port", dest="ports", action="append", metavar="PORT[/PROTOCOL]",
                        help="with --model: only this port (repeatable; protocol TCP unless given)")
    add_cluster_options(parser)
    parser.set_defaults(handler=_reach)


def _reach(args: argparse.Namespace) -> int:
    from netsim.api.errors import FieldError
    from netsim.emulator.emulator import Emulator
    from netsim.verify.reach import reachability

    if not 1 <= args.samples <= 10_000:
        raise FieldError(f"must be between 1 and 10000, got {args.samples}", "--samples")
    emulator = Emulator(cluster_inputs(args).build())
    if args.model:
        from netsim.verify.reach import truth_tables

        sys.stdout.write(truth_tables(emulator, args.namespace, _model_ports(args.ports)))
        return 0
    if args.ports:
        raise FieldError("only with --model", "--port")
    progress = _progress if sys.stderr.isatty() else None
    matrix = reachability(emulator, args.samples, args.namespace, services=args.only != "pods",
                          pods=args.only != "services", progress=progress)
    if progress is not None:
        sys.stderr.write("\r\033[K")
    sys.stdout.write({"table": matrix.table, "csv": matrix.csv, "json": matrix.json}[args.output]())
    return 0


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"\r\033[Kreach: {done}/{total} cells")
    sys.stderr.flush()


def _model_ports(values: list[str] | None) -> tuple[tuple[int, str], ...] | None:
    """`80`, `53/UDP` -> ((80, "TCP"), (53, "UDP")); None when no --port was given."""
    from netsim.api.errors import FieldError

    if not values:
        return None
    out = []
    for value in values:
        port, _, protocol = value.partition("/")
        protocol = (protocol or "TCP").upper()
        if not port.isdigit() or not 1 <= int(port) <= 65535 or protocol not in ("TCP", "UDP"):
            raise FieldError(f"must be PORT or PORT/TCP|UDP, got {value!r}", "--port")
        out.append((int(port), protocol))
    return tuple(out)
