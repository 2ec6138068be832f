"""`netsim live up|down|status|diff`: the scenario's cluster in real network namespaces, and the check against the kernel.

`up` builds the folder's cluster (as `netsim run` builds it, before any
step changes it) in namespaces
and serves its applications until Ctrl-C or SIGTERM (`netsim live down`
sends it), then removes everything. `down` ends every registered run (or
the one named). `status` lists the runs in the registry. `diff` runs the
scenario in both worlds and prints every difference (exit 1 when there is
one). Without root or namespaces the commands say so and exit 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def register(sub) -> None:
    """`netsim live` and its four sub-commands."""
    parser = sub.add_parser("live", help="the cluster in real network namespaces; differential check")
    commands = parser.add_subparsers(dest="live_command", required=True, metavar="COMMAND")
    for name, handler, text in (("up", _up, "build the cluster in namespaces and serve it until Ctrl-C"),
                                ("diff", _diff, "run a scenario in the emulator and the kernel and compare")):
        command = commands.add_parser(name, help=text)
        command.add_argument("path", nargs="?", help="a scenario folder (default: cluster/quickstart)")
        command.add_argument("--topology", metavar="FILE", help="topology file (default: the scenario's)")
        command.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's, else 0)")
        command.add_argument("--cni", choices=("bridge", "vxlan", "ptp"), help="override the topology's CNI mode")
        command.set_defaults(handler=handler)
        if name == "diff":
            command.add_argument("--samples", type=int, default=200,
                                 help="connections per side for a statistical flow's distribution (default 200)")
    down = commands.add_parser("down", help="end live runs (all, or RUN) and remove their namespaces")
    down.add_argument("run", nargs="?", help="a run id (see `netsim live status`)")
    down.set_defaults(handler=_down)
    status = commands.add_parser("status", help="the registered live runs and their namespaces")
    status.set_defaults(handler=_status)


def _folder(args: argparse.Namespace) -> Path:
    from netsim.cli.inputs import QUICKSTART, project_path

    return Path(args.path) if args.path else project_path(QUICKSTART)


def _topology(args: argparse.Namespace, folder: Path):
    from netsim.cli.inputs import DEFAULT_TOPOLOGY, project_path
    from netsim.verify.scenario import load_scenario

    if args.topology:
        return args.topology
    return load_scenario(folder).topology or project_path(DEFAULT_TOPOLOGY)


def _terminate_on_sigterm() -> None:
    """SIGTERM ends the command like Ctrl-C does, so the session's clean-up runs."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


def _up(args: argparse.Namespace) -> int:
    from netsim.emulator.wiring import build_network
    from netsim.live.diff import rulesets, scenario_emulator
    from netsim.live.registry import check_available
    from netsim.live.session import LiveSession

    check_available()
    folder = _folder(args)
    scenario, topo, seed, emulator = scenario_emulator(folder, topology=_topology(args, folder), seed=args.seed,
                                                       cni=args.cni)
    cluster = emulator.cluster
    _terminate_on_sigterm()
    try:
        with LiveSession(build_network(cluster), rulesets(cluster), scenario.name) as live:
            assert live.world is not None and live.record is not None
            if live.stale_removed:
                print(f"removed {len(live.stale_removed)} namespace(s) of stale runs")
            print(f"live run {live.record.run_id}: scenario {scenario.name}, topology {topo.name} "
                  f"({topo.cni.value}), seed {seed}")
            for host, ns in sorted(live.world.namespaces.items()):
                print(f"  {ns}  {host}")
            for segment, ns in sorted(live.world.segments.items()):
                print(f"  {ns}  segment {segment}")
            print("up; Ctrl-C or `netsim live down` removes it", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("interrupted: the run's namespaces are removed", file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from netsim.live.diff import diff_scenario
    from netsim.live.registry import check_available

    check_available()
    folder = _folder(args)
    _terminate_on_sigterm()
    report = diff_scenario(folder, topology=_topology(args, folder), seed=args.seed, samples=args.samples,
                           cni=args.cni)
    sys.stdout.write(report.format())
    return 1 if report.differences else 0


def _down(args: argparse.Namespace) -> int:
    from netsim.live import registry
    from netsim.live.errors import LiveUnavailable

    registry.check_available()
    runs = registry.runs()
    if args.run:
        runs = [r for r in runs if r.run_id == args.run]
        if not runs:
            raise LiveUnavailable(f"no live run {args.run!r} in {registry.REGISTRY_DIR}")
    for record in runs:
        removed = registry.stop(record)
        print(f"run {record.run_id}: removed {len(removed)} namespace(s)")
    if not runs:
        print("no live runs")
    return 0


def _status(args: argparse.Namespace) -> int:
    from netsim.live import registry

    registry.check_available()
    runs = registry.runs()
    if not runs:
        print("no live runs")
    for record in runs:
        state = "running" if record.alive() else "stale (owner gone; removed at the next start or `down`)"
        print(f"run {record.run_id}: pid {record.pid}, scenario {record.scenario or '-'}, {state}")
        for ns, host in sorted(record.namespaces.items()):
            print(f"  {ns}  {host}")
    return 0


def main(argv=None) -> int:
    """`python -m netsim.cli.live ...`: the same commands without the rest of the CLI."""
    from netsim.errors import NetsimError

    parser = argparse.ArgumentParser(prog="netsim")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["live", *(argv if argv is not None else sys.argv[1:])])
    try:
        return args.handler(args)
    except NetsimError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
