"""`netsim run [SCENARIO] [--json]`: build the cluster, run the steps, report where traffic went, write pcaps.

Exit codes: 0 when every expectation held, 1 when one failed (the report says
which and why), 2 for bad input or a feature netsim does not emulate (a NetsimError naming it).
Text goes to stdout as each step finishes; `--json` prints one document at
the end instead. Progress goes to stderr, and only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from netsim.api.load import load_paths
from netsim.api.topology import load_topology
from netsim.capture.points import CaptureSet
from netsim.cli.inputs import DEFAULT_TOPOLOGY, QUICKSTART, project_path
from netsim.cli.options import add_cluster_options
from netsim.verify.runner import build_emulator, cluster_line, run_steps
from netsim.verify.scenario import load_scenario


def register(sub) -> None:
    """`netsim run [SCENARIO]`."""
    parser = sub.add_parser("run", help="build the cluster, run the scenario's steps, check its expectations, "
                                        "write pcaps")
    parser.add_argument("path", nargs="?", help="a scenario folder or file (default: cluster/quickstart)")
    parser.add_argument("--pcap-dir", metavar="DIR", help="where pcaps go (default: pcaps/<scenario name>)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document (for CI)")
    parser.add_argument("--show", type=int, default=10, metavar="N",
                        help="connections detailed per send step in the text report (default 10)")
    add_cluster_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run one scenario; 0 when every expectation held, 1 when one failed."""
    path = Path(args.path) if args.path else project_path(QUICKSTART)
    scenario = load_scenario(path)
    topology_path = args.topology or scenario.topology or project_path(DEFAULT_TOPOLOGY)
    topology = load_topology(topology_path)
    seed = args.seed if args.seed is not None else (scenario.seed or 0)
    extra = load_paths(args.files) if args.files else ()
    pcap_dir = Path(args.pcap_dir) if args.pcap_dir else project_path("pcaps") / scenario.name
    emulator = build_emulator(scenario, topology, seed, extra, CaptureSet(pcap_dir))
    head = [f"scenario {scenario.name}: topology {topology.name} ({_rel(topology_path)}), seed {seed}",
            f"cluster: {cluster_line(emulator.cluster.store)}"]
    out = sys.stdout
    if not args.json:
        out.write("\n".join(head) + "\n")
    progress = _progress if sys.stderr.isatty() else None
    steps = []
    try:
        for report in run_steps(scenario, emulator, progress, show=max(args.show, 0)):
            steps.append(report)
            if progress is not None:
                sys.stderr.write("\r\033[K")
            if not args.json:
                out.write("\n" + "\n".join(report.lines) + "\n")
                out.flush()
    finally:
        emulator.close()
    files = sorted(emulator.capture.paths().values()) if emulator.capture else []
    checks = [(s, c) for s in steps for c in s.checks]
    failed = [(s, c) for s, c in checks if not c.passed]
    if args.json:
        doc = {"scenario": scenario.name, "topology": {"name": topology.name, "path": _rel(topology_path)},
               "seed": seed, "cluster": cluster_line(emulator.cluster.store),
               "steps": [s.to_dict() for s in steps],
               "pcaps": {"dir": _rel(pcap_dir), "files": [p.name for p in files]},
               "expectations": {"total": len(checks), "failed": len(failed)},
               "passed": not failed}
        out.write(json.dumps(doc, indent=2) + "\n")
        return 1 if failed else 0
    out.write(f"\npcaps: {len(files)} files in {_rel(pcap_dir)}/ ({', '.join(p.name for p in files)})\n")
    if checks:
        out.write(f"\nexpectations: {len(checks) - len(failed)} of {len(checks)} held"
                  + (f", {len(failed)} failed:\n" if failed else "\n"))
        for step, check in failed:
            out.write(f"  {step.field} ({step.name}): {check.expectation}: {check.reason}\n")
    return 1 if failed else 0


def _progress(number: int, total: int, name: str, done: int, count: int) -> None:
    """One line of progress on the terminal, rewritten in place."""
    tail = f": {done}/{count} connections" if count else ""
    sys.stderr.write(f"\r\033[K[{number}/{total}] {name}{tail}")
    sys.stderr.flush()


def _rel(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
