"""`netsim`: build an emulated cluster, look at it, send packets through it.

Exit codes (DESIGN.md): 2 for bad input (the message, no traceback), 1 when a
scenario's expectations fail, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from netsim.errors import NetsimError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topology", metavar="FILE", help="topology file (default: topologies/three-node.yaml)")
    parser.add_argument("-f", "--filename", dest="files", action="append", metavar="FILE|DIR",
                        help="manifest file or folder (repeatable); default: the state folder, else the quickstart")
    parser.add_argument("--seed", type=int, default=None, help="seed of every random choice (default 0)")
    parser.add_argument("--state", metavar="DIR", help="state folder of a working cluster (default ./.netsim)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netsim", description="A packet-level emulator of Kubernetes networking.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="build the cluster, send the traffic, print where it went, write pcaps")
    run.add_argument("path", nargs="?", help="a cluster folder (default: cluster/quickstart)")
    run.add_argument("--pcap-dir", metavar="DIR", help="where pcaps go (default: pcaps/<folder name>)")
    _common(run)

    get = sub.add_parser("get", help="list objects with kubectl's columns")
    get.add_argument("kind", metavar="KIND", help="pods, svc, deployments.apps, nodes, ...")
    get.add_argument("name", nargs="?", metavar="NAME")
    get.add_argument("-n", "--namespace", default=None)
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=("wide", "yaml", "json", "name"), default=None)
    get.add_argument("-l", "--selector", default=None, help="label selector (app=web,tier in (a,b))")
    _common(get)

    save = sub.add_parser("iptables-save", help="a node's rules as iptables-save prints them")
    save.add_argument("--node", required=True, metavar="NAME")
    _common(save)

    up = sub.add_parser("up", help="create a working cluster in a state folder")
    _common(up)

    apply = sub.add_parser("apply", help="apply manifests to the working cluster (kubectl apply -f)")
    apply.add_argument("--state", metavar="DIR", help="state folder (default ./.netsim)")
    apply.add_argument("-f", "--filename", dest="apply_files", action="append", required=True, metavar="FILE|DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except NetsimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _inputs(args: argparse.Namespace):
    from netsim.cli.inputs import resolve

    return resolve(getattr(args, "files", None), getattr(args, "topology", None), getattr(args, "seed", None),
                   getattr(args, "state", None))


def cmd_get(args: argparse.Namespace) -> int:
    from netsim.cli.get import get

    cluster = _inputs(args).build()
    sys.stdout.write(get(cluster, args.kind, args.name, namespace=args.namespace,
                         all_namespaces=args.all_namespaces, output=args.output, selector=args.selector))
    return 0


def cmd_iptables_save(args: argparse.Namespace) -> int:
    from netsim.emulator.proxy import node_ruleset_text

    cluster = _inputs(args).build()
    sys.stdout.write(node_ruleset_text(cluster, args.node))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from netsim.cli.inputs import DEFAULT_STATE, QUICKSTART, Inputs, fresh, project_path
    from netsim.emulator import state as st

    inputs = Inputs(fresh(args.files or [str(project_path(QUICKSTART))], args.topology, args.seed), None)
    cluster = inputs.build()
    topology = inputs.topology
    path = st.save(args.state or DEFAULT_STATE, inputs.state)
    pods = cluster.store.list("Pod")
    print(f"cluster {topology.name} is up: {len(cluster.store.list('Node'))} nodes, {len(pods)} pods "
          f"({sum(1 for p in pods if p.phase == 'Running')} running); state in {path.parent}/")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from netsim.api.load import load_text
    from netsim.cli.inputs import DEFAULT_STATE, Inputs, replay
    from netsim.emulator import state as st

    folder = Path(args.state or DEFAULT_STATE)
    current = st.load(folder)
    cluster = Inputs(current, folder).build()
    new_state = current
    for source in st.read_sources(args.apply_files):
        entry = {"command": "apply", "source": source.path, "text": source.text}
        before = {o.key: o.resource_version for k in cluster.store.kinds() for o in cluster.store.list(k)}
        replay(cluster, entry)
        for manifest in load_text(source.text, source.path):
            obj = manifest.obj
            key = cluster.store.get(obj.kind, obj.name, obj.namespace or "default").key
            verb = "created" if key not in before else "configured"
            print(f"{obj.info.singular}{'.' + obj.info.group if obj.info.group else ''}/{obj.name} {verb}")
        new_state = new_state.with_entry(entry)
    st.save(folder, new_state)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from netsim.cli.run import run

    return run(args)


COMMANDS = {
    "apply": cmd_apply,
    "get": cmd_get,
    "iptables-save": cmd_iptables_save,
    "run": cmd_run,
    "up": cmd_up,
}


if __name__ == "__main__":
    sys.exit(main())
