"""`netsim advance`, `node fail|recover`, `taint`, `scale`, `rollout undo`, `create job`, `delete`: change the working cluster.

Each command works on the state folder (`--state`, default ./.netsim, made
by `netsim up`): it rebuilds the cluster, applies itself, and appends one
entry to the journal (netsim.emulator.journal), so every later command sees
the change. The output is kubectl's where kubectl has the command:
`delete --force` (grace period 0) warns as kubectl does and removes a pod at
once; `delete node NAME` leaves its pods to the pod garbage collector
(controllers/podgc.py), as the API server does.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from netsim.api.errors import FieldError

# kubectl delete --force's warning (DeleteOptions.Validate, printed through its WarningPrinter as "Warning: ...")
IMMEDIATE_DELETION = ("Immediate deletion does not wait for confirmation that the running resource has been "
                      "terminated. The resource may continue to run on the cluster indefinitely.")
TAINT = re.compile(r"^(?P<key>[^=:]+)(=(?P<value>[^:]*))?(:(?P<effect>NoSchedule|PreferNoSchedule|NoExecute))?"
                   r"(?P<remove>-)?$")


def register(sub) -> None:
    """`netsim advance`, `netsim node`, `netsim taint`, `netsim scale`, `netsim rollout`, `netsim create`,
    `netsim delete`."""
    advance = sub.add_parser("advance", help="run the simulated clock forward (controllers and kubelets act)")
    advance.add_argument("seconds", type=float, metavar="SECONDS")
    _state(advance)
    advance.set_defaults(handler=_advance)

    node = sub.add_parser("node", help="fail or recover a node's machine")
    node.add_argument("action", choices=("fail", "recover"))
    node.add_argument("name", metavar="NAME")
    _state(node)
    node.set_defaults(handler=_node)

    taint = sub.add_parser("taint", help="add or remove node taints (kubectl taint node)")
    taint.add_argument("resource", choices=("node", "nodes", "no"))
    taint.add_argument("target", nargs="+", metavar="NAME KEY[=VALUE]:EFFECT[-]")
    taint.add_argument("--all", action="store_true", help="every node")
    _state(taint)
    taint.set_defaults(handler=_taint)

    scale = sub.add_parser("scale", help="set a workload's replicas (kubectl scale)")
    scale.add_argument("target", metavar="KIND/NAME")
    scale.add_argument("--replicas", type=int, required=True)
    scale.add_argument("-n", "--namespace", default="default")
    _state(scale)
    scale.set_defaults(handler=_scale)

    rollout = sub.add_parser("rollout", help="roll a Deployment back (kubectl rollout undo)")
    rollout.add_argument("action", choices=("undo",))
    rollout.add_argument("target", metavar="deployment/NAME")
    rollout.add_argument("--to-revision", type=int, default=0)
    rollout.add_argument("-n", "--namespace", default="default")
    _state(rollout)
    rollout.set_defaults(handler=_rollout)

    create = sub.add_parser("create", help="create a Job from a CronJob (kubectl create job --from=cronjob/NAME)")
    create.add_argument("kind", choices=("job",))
    create.add_argument("name", metavar="NAME")
    create.add_argument("--from", dest="source", required=True, metavar="cronjob/NAME")
    create.add_argument("-n", "--namespace", default="default")
    _state(create)
    create.set_defaults(handler=_create_job)

    delete = sub.add_parser("delete", help="delete an object (kubectl delete), dependents by --cascade")
    delete.add_argument("kind", metavar="KIND")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("-n", "--namespace", default="default")
    delete.add_argument("--cascade", choices=("background", "foreground", "orphan"), default="background")
    delete.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS",
                        help="seconds a pod gets to stop (-1: its own; 0 only with --force)")
    delete.add_argument("--force", action="store_true", help="remove at once, without the kubelet's confirmation")
    delete.add_argument("--now", action="store_true", help="signal the pod to stop at once (grace period 1)")
    _state(delete)
    delete.set_defaults(handler=_delete)


def _state(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", metavar="DIR", help="state folder (default ./.netsim)")


def run_entry(args: argparse.Namespace, entry: dict):
    """Rebuild the working cluster, apply `entry`, journal it; returns the cluster."""
    from netsim.cli.inputs import DEFAULT_STATE, Inputs
    from netsim.emulator import state as st
    from netsim.emulator.journal import replay

    folder = Path(args.state or DEFAULT_STATE)
    current = st.load(folder)
    cluster = Inputs(current, folder).build()
    replay(cluster, entry)
    st.save(folder, current.with_entry(entry))
    return cluster


def _advance(args: argparse.Namespace) -> int:
    if not args.seconds >= 0:
        raise FieldError(f"must be a non-negative number of seconds, got {args.seconds}", "SECONDS")
    cluster = run_entry(args, {"command": "advance", "seconds": args.seconds})
    print(f"advanced {args.seconds:g}s; the time is now {cluster.clock.rfc3339()}")
    return 0


def _node(args: argparse.Namespace) -> int:
    run_entry(args, {"command": "node", "action": args.action, "name": args.name})
    print(f"node/{args.name} {'failed' if args.action == 'fail' else 'recovered'}")
    return 0


def _taint(args: argparse.Namespace) -> int:
    from netsim.emulator.journal import taint

    words = list(args.target)
    name = "" if args.all else (words.pop(0) if words else "")
    if not args.all and not name:
        raise FieldError("name a node or give --all", "taint")
    if len(words) != 1 or not TAINT.match(words[0]):
        raise FieldError("expected one taint KEY[=VALUE]:EFFECT to add or KEY[:EFFECT]- to remove", "taint")
    m = TAINT.match(words[0])
    entry = {"command": "taint", "name": name, "key": m["key"], "value": m["value"] or "",
             "effect": m["effect"] or "", "remove": bool(m["remove"])}
    from netsim.cli.inputs import DEFAULT_STATE, Inputs
    from netsim.emulator import state as st

    folder = Path(args.state or DEFAULT_STATE)
    current = st.load(folder)
    cluster = Inputs(current, folder).build()
    lines, errors = taint(cluster, name, entry["key"], entry["value"], entry["effect"], entry["remove"])
    cluster.settle()
    if lines:
        st.save(folder, current.with_entry(entry))
        print("\n".join(lines))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


def _scale(args: argparse.Namespace) -> int:
    from netsim.api.kinds import resolve_resource

    kind, _, name = args.target.partition("/")
    if not name:
        raise FieldError("expected KIND/NAME (deployment/web)", "scale")
    info = resolve_resource(kind)
    run_entry(args, {"command": "scale", "kind": info.kind, "name": name, "namespace": args.namespace,
                     "replicas": args.replicas})
    print(f"{info.singular}{'.' + info.group if info.group else ''}/{name} scaled")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from netsim.api.kinds import resolve_resource

    info = resolve_resource(args.kind)
    namespace = args.namespace if info.namespaced else ""
    grace = delete_grace_period(args.grace_period, args.force, args.now)
    entry = {"command": "delete", "kind": info.kind, "name": args.name, "namespace": namespace,
             "cascade": args.cascade}
    if grace >= 0:
        entry["grace"] = grace
    if grace == 0:
        print(f"Warning: {IMMEDIATE_DELETION}", file=sys.stderr)
    run_entry(args, entry)
    print(f'{info.singular}{"." + info.group if info.group else ""} "{args.name}" '
          f'{"force deleted" if grace == 0 else "deleted"}')
    return 0


def delete_grace_period(grace: int, force: bool, now: bool) -> int:
    """kubectl delete's grace period from its flags (DeleteOptions.Complete, Validate); -1: the object's own.

    --now is 1; --grace-period=0 without --force is 1 (kubectl guards against
    accidental data loss); --force alone is 0; --force with a positive period is an error.
    """
    if now:
        if grace != -1:
            raise FieldError("--now and --grace-period cannot be specified together")
        grace = 1
    if grace == 0 and not force:
        grace = 1
    if force and grace < 0:
        grace = 0
    if force and grace > 0:
        raise FieldError("--force and --grace-period greater than 0 cannot be specified together")
    return grace


def _rollout(args: argparse.Namespace) -> int:
    from netsim.api.kinds import resolve_resource

    kind, _, name = args.target.partition("/")
    if not name or resolve_resource(kind).kind != "Deployment":
        raise FieldError("expected deployment/NAME", "rollout undo")
    run_entry(args, {"command": "rollout-undo", "name": name, "namespace": args.namespace,
                     "revision": args.to_revision})
    print(f"deployment.apps/{name} rolled back")
    return 0


def _create_job(args: argparse.Namespace) -> int:
    kind, _, source = args.source.partition("/")
    if kind not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not source:
        raise FieldError("from must be of the form cronjob/NAME", "--from")
    run_entry(args, {"command": "create-job", "name": args.name, "namespace": args.namespace, "cronjob": source})
    print(f"job.batch/{args.name} created")
    return 0
