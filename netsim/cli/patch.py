"""`netsim patch KIND NAME -p PATCH [--type merge|json|strategic]`: kubectl patch on the working cluster.

The patch (JSON, or YAML as kubectl also accepts) is applied through the
store as the API server applies it (netsim.api.patches), the controllers
settle, and the command is journaled in the state folder so later commands
see it. The output is kubectl's: `persistentvolumeclaim/data patched`, or
`... patched (no change)` when the object came out the same. The seed's
stuck claim: `netsim patch pvc data -p '{"metadata":{"finalizers":[]}}'
--type merge` lets a Terminating claim go, and its namespace after it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from netsim.api.errors import FieldError
from netsim.api.patches import PATCH_TYPES


def register(sub) -> None:
    """`netsim patch`."""
    patch = sub.add_parser("patch", help="update fields of an object (kubectl patch)")
    patch.add_argument("kind", metavar="KIND", help="resource type (pvc, deploy, node, ...) or KIND/NAME")
    patch.add_argument("name", metavar="NAME", nargs="?")
    patch.add_argument("-n", "--namespace", default="default")
    patch.add_argument("-p", "--patch", metavar="PATCH", help="the patch, JSON or YAML")
    patch.add_argument("--patch-file", metavar="FILE", help="a file holding the patch")
    patch.add_argument("--type", choices=PATCH_TYPES, default="strategic",
                       help="merge (RFC 7386), json (RFC 6902) or strategic (default)")
    patch.add_argument("--state", metavar="DIR", help="state folder (default ./.netsim)")
    patch.set_defaults(handler=_patch)


def parse_patch(args: argparse.Namespace):
    """The patch the flags give, decoded; FieldError naming the flag when it is missing or not JSON/YAML."""
    if bool(args.patch) == bool(args.patch_file):
        raise FieldError("must specify --patch or --patch-file containing the contents of the patch", "patch")
    text = args.patch if args.patch else Path(args.patch_file).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise FieldError(f"unable to parse the patch: {str(err).splitlines()[0]}", "--patch") from None


def _patch(args: argparse.Namespace) -> int:
    from netsim.api.kinds import resolve_resource
    from netsim.api.patches import patch_object
    from netsim.cli.inputs import DEFAULT_STATE, Inputs
    from netsim.emulator import state as st

    kind, name = args.kind, args.name
    if name is None:
        kind, _, name = kind.partition("/")
        if not name:
            raise FieldError("expected KIND NAME or KIND/NAME (pvc data, deployment/web)", "patch")
    info = resolve_resource(kind)
    namespace = args.namespace if info.namespaced else ""
    patch = parse_patch(args)
    entry = {"command": "patch", "kind": info.kind, "name": name, "namespace": namespace, "type": args.type,
             "patch": patch}
    folder = Path(args.state or DEFAULT_STATE)
    current = st.load(folder)
    cluster = Inputs(current, folder).build()
    changed, _ = patch_object(cluster.store, info.kind, name, namespace, patch, args.type)
    cluster.settle()
    if changed:
        st.save(folder, current.with_entry(entry))
    print(f"{info.singular}{'.' + info.group if info.group else ''}/{name} patched{'' if changed else ' (no change)'}")
    return 0
