"""Run netsim's CLI in-process with the kubeproxy commands registered (netsim.cli.iptables_list
may not be in netsim.cli.main's COMMAND_MODULES yet)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io

from netsim.cli import main as cli_main
from netsim.errors import NetsimError

MODULES = tuple(dict.fromkeys((*cli_main.COMMAND_MODULES, "netsim.cli.iptables", "netsim.cli.iptables_list")))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `netsim ARGV...`, as netsim.cli.main.main runs it."""
    parser = argparse.ArgumentParser(prog="netsim")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in MODULES:
        importlib.import_module(name).register(sub)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        args = parser.parse_args(list(argv))
        try:
            code = args.handler(args)
        except NetsimError as error:
            print(f"error: {error}", file=err)
            code = 2
    return code, out.getvalue(), err.getvalue()
