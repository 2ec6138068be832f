"""`netsim up` and `netsim apply`: a working cluster kept in a state folder (see netsim.emulator.state)."""

from __future__ import annotations

import argparse
from pathlib import Path

from netsim.cli.options import add_cluster_options


def register(sub) -> None:
    """`netsim up`, `netsim apply -f FILE`."""
    up = sub.add_parser("up", help="create a working cluster in a state folder")
    add_cluster_options(up)
    up.set_defaults(handler=_up)
    apply = sub.add_parser("apply", help="apply manifests to the working cluster (kubectl apply -f)")
    apply.add_argument("--state", metavar="DIR", help="state folder (default ./.netsim)")
    apply.add_argument("-f", "--filename", dest="apply_files", action="append", required=True, metavar="FILE|DIR")
    apply.set_defaults(handler=_apply)


def _up(args: argparse.Namespace) -> int:
    from netsim.cli.inputs import DEFAULT_STATE, QUICKSTART, Inputs, fresh, project_path
    from netsim.emulator import state as st

    inputs = Inputs(fresh(args.files or [str(project_path(QUICKSTART))], args.topology, args.seed), None)
    cluster = inputs.build()
    path = st.save(args.state or DEFAULT_STATE, inputs.state)
    pods = cluster.store.list("Pod")
    print(f"cluster {inputs.topology.name} is up: {len(cluster.store.list('Node'))} nodes, {len(pods)} pods "
          f"({sum(1 for p in pods if p.phase == 'Running')} running); state in {path.parent}/")
    return 0


def _apply(args: argparse.Namespace) -> int:
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
            now = cluster.store.get(obj.kind, obj.name, obj.namespace or "default")
            group = f".{obj.info.group}" if obj.info.group else ""
            verb = ("created" if now.key not in before
                    else "unchanged" if before[now.key] == now.resource_version else "configured")
            print(f"{obj.info.singular}{group}/{obj.name} {verb}")
        new_state = new_state.with_entry(entry)
    st.save(folder, new_state)
    return 0
