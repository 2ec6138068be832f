"""`netsim`: build an emulated cluster, look at it, send packets through it.

Exit codes (DESIGN.md): 2 for bad input (the message, no traceback), 1 when a
scenario's expectations fail, 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from netsim.errors import NetsimError


# Each module registers its own sub-commands: register(subparsers) adds parsers whose
# `handler` default takes the parsed arguments and returns the exit code.
COMMAND_MODULES = (
    "netsim.cli.run",
    "netsim.cli.get",
    "netsim.cli.iptables",
    "netsim.cli.state",
    "netsim.cli.ip",
    "netsim.cli.iptables_list",
    "netsim.cli.nftrace",
    "netsim.cli.trace",
    "netsim.cli.reach",
    "netsim.cli.distribution",
    "netsim.cli.draw",
    "netsim.cli.dns",
    "netsim.cli.exec",
    "netsim.cli.live",
    "netsim.cli.workloads",
    "netsim.cli.describe",
    "netsim.cli.curl",
    "netsim.cli.auth",
    "netsim.cli.certificate",
    "netsim.cli.patch",
)


def build_parser() -> argparse.ArgumentParser:
    """The `netsim` parser with every command module's sub-commands."""
    parser = argparse.ArgumentParser(prog="netsim", description="A packet-level emulator of Kubernetes networking.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except NetsimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
