"""Options every cluster-reading command shares, and how they become a cluster."""

from __future__ import annotations

import argparse


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """--topology, -f (repeatable), --seed and --state, as every command takes them."""
    parser.add_argument("--topology", metavar="FILE", help="topology file (default: topologies/three-node.yaml)")
    parser.add_argument("-f", "--filename", dest="files", action="append", metavar="FILE|DIR",
                        help="manifest file or folder (repeatable); default: the state folder, else the quickstart")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice (default 0)")
    parser.add_argument("--state", metavar="DIR", help="state folder of a working cluster (default ./.netsim)")


def cluster_inputs(args: argparse.Namespace):
    """The Inputs the command's options name (see netsim.cli.inputs)."""
    from netsim.cli.inputs import resolve

    return resolve(getattr(args, "files", None), getattr(args, "topology", None), getattr(args, "seed", None),
                   getattr(args, "state", None))
