"""`netsim get`: what `kubectl get` prints for the same objects."""

from __future__ import annotations

import sys

from netsim.api.errors import FieldError, NotFound
from netsim.api.kinds import resolve_resource
from netsim.api.load import dump_json, dump_yaml
from netsim.cli.options import add_cluster_options, cluster_inputs
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster


def register(sub) -> None:
    """`netsim get KIND [NAME]`."""
    parser = sub.add_parser("get", help="list objects with kubectl's columns")
    parser.add_argument("kind", metavar="KIND", help="pods, svc, deployments.apps, nodes, ... (comma-separated)")
    parser.add_argument("name", nargs="?", metavar="NAME")
    parser.add_argument("-n", "--namespace", default=None)
    parser.add_argument("-A", "--all-namespaces", action="store_true")
    parser.add_argument("-o", "--output", choices=("wide", "yaml", "json", "name"), default=None)
    parser.add_argument("-l", "--selector", default=None, help="label selector (app=web,tier in (a,b))")
    add_cluster_options(parser)
    parser.set_defaults(handler=_command)


def _command(args) -> int:
    cluster = cluster_inputs(args).build()
    sys.stdout.write(get(cluster, args.kind, args.name, namespace=args.namespace, all_namespaces=args.all_namespaces,
                         output=args.output, selector=args.selector))
    return 0


def get(cluster: Cluster, resource: str, name: str | None = None, *, namespace: str | None = None,
        all_namespaces: bool = False, output: str | None = None, selector: str | None = None) -> str:
    """The text `kubectl get RESOURCE[,RESOURCE...] [NAME]` prints ("No resources found" goes to stderr)."""
    if "," in resource and output in (None, "wide"):
        tables = [_get_one(cluster, r, name, namespace=namespace, all_namespaces=all_namespaces, output=output,
                           selector=selector, qualify=True) for r in resource.split(",") if r]
        return "\n".join(t for t in tables if t)
    return _get_one(cluster, resource, name, namespace=namespace, all_namespaces=all_namespaces, output=output,
                    selector=selector)


def _get_one(cluster: Cluster, resource: str, name: str | None, *, namespace: str | None, all_namespaces: bool,
             output: str | None, selector: str | None, qualify: bool = False) -> str:
    from netsim.api.selector import parse_selector_string

    info = resolve_resource(resource)
    store = cluster.store
    ns = None if all_namespaces or not info.namespaced else (namespace or "default")
    if name is not None:
        obj = store.try_get(info.kind, name, ns or "")
        if obj is None:
            raise NotFound(f'{info.resource} "{name}" not found')
        objects = [obj]
    else:
        objects = store.list(info.kind, ns)
    if selector:
        try:
            wanted = parse_selector_string(selector)
        except FieldError as err:
            raise FieldError(f"invalid label selector {selector!r}: {err.problem}", "--selector") from None
        objects = [o for o in objects if wanted.matches(o.labels)]
    if output == "yaml":
        return dump_yaml(objects[0] if name is not None else objects)
    if output == "json":
        return dump_json(objects[0] if name is not None else objects)
    if output == "name":
        prefix = info.singular + (f".{info.group}" if info.group else "")
        return "".join(f"{prefix}/{o.name}\n" for o in objects)
    if not objects:
        where = "" if ns is None else f" in {ns} namespace"
        print(f"No resources found{where}.", file=sys.stderr)
        return ""
    prefix = (info.singular + (f".{info.group}" if info.group else "") + "/") if qualify else ""
    return table(info.kind, objects, cluster.clock.now(), wide=output == "wide",
                 all_namespaces=all_namespaces and info.namespaced, name_prefix=prefix)
