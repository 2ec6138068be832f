"""The journal's commands: each entry of a state folder's journal, applied to a built cluster.

An entry is a plain mapping (YAML in cluster.yaml) with `command` and its
arguments; replaying the same entries in order on the same inputs gives the
same cluster, since every command acts through the store and the simulated
clock only:

- `apply`: {source, text} — manifests applied as `kubectl apply -f`;
- `advance`: {seconds} — the clock runs forward;
- `node`: {action: fail|recover, name} — a node's machine stops or restarts;
- `taint`: {name (or "" for all), key, value, effect, remove} — `kubectl taint node`;
- `scale`: {kind, name, namespace, replicas} — `kubectl scale`;
- `rollout-undo`: {name, namespace, revision} — `kubectl rollout undo deployment/NAME [--to-revision]`;
- `create-job`: {name, namespace, cronjob} — `kubectl create job NAME --from=cronjob/CRONJOB`;
- `delete`: {kind, name, namespace, cascade, grace (optional)} — `kubectl delete --cascade [--grace-period]`
  (grace 0: `--force`, the pod removed without its kubelet's confirmation).
- `patch`: {kind, name, namespace, type, patch} — `kubectl patch --type merge|json|strategic -p PATCH`.
"""

from __future__ import annotations

from netsim.api.apply import apply_manifests
from netsim.api.errors import FieldError, NotFound
from netsim.api.load import load_text
from netsim.emulator.cluster import Cluster
from netsim.emulator.state import StateError

CASCADES = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan"}


def replay(cluster: Cluster, entry: dict) -> None:
    """Apply one journal entry to a built cluster, then let the controllers settle."""
    command = entry.get("command")
    store = cluster.store
    if command == "apply":
        apply_manifests(store, load_text(entry["text"], entry["source"]))
    elif command == "advance":
        cluster.advance(float(entry["seconds"]))
    elif command == "node":
        (cluster.fail_node if entry["action"] == "fail" else cluster.recover_node)(entry["name"])
    elif command == "taint":
        taint(cluster, entry.get("name") or "", entry["key"], entry.get("value", ""), entry.get("effect", ""),
              bool(entry.get("remove")))
    elif command == "scale":
        store.patch(entry["kind"], entry["name"], entry.get("namespace", ""), {"spec": {"replicas": int(entry["replicas"])}})
    elif command == "rollout-undo":
        from netsim.controllers.deployment import rollback

        rollback(store, store.get("Deployment", entry["name"], entry.get("namespace", "default")),  # type: ignore[arg-type]
                 int(entry.get("revision", 0)))
    elif command == "create-job":
        from netsim.controllers.cronjob import job_from_cronjob

        job_from_cronjob(store, entry["cronjob"], entry.get("namespace", "default"), entry["name"])
    elif command == "delete":
        store.delete(entry["kind"], entry["name"], entry.get("namespace", ""),
                     propagation=CASCADES[entry.get("cascade", "background")], grace_period=entry.get("grace"))
    elif command == "patch":
        from netsim.api.patches import patch_object

        patch_object(store, entry["kind"], entry["name"], entry.get("namespace", ""), entry["patch"],
                     entry.get("type", "strategic"))
    else:
        raise StateError(f"journal entry with unknown command {command!r}")
    cluster.settle()


def taint(cluster: Cluster, name: str, key: str, value: str, effect: str, remove: bool) -> tuple[list[str], list[str]]:
    """Add or remove a taint on one node (all when `name` is empty); returns kubectl's lines and its errors.

    As `kubectl taint` (ContinueOnError): with --all, a node without the taint to
    remove is an error line while the others change; for one named node it is NotFound.
    """
    store = cluster.store
    nodes = [store.get("Node", name)] if name else store.list("Node")
    lines, errors = [], []
    for node in nodes:
        taints = list(node.spec.get("taints") or [])
        if remove:
            kept = [t for t in taints if not (t.get("key") == key and (not effect or t.get("effect") == effect))]
            if len(kept) == len(taints):
                message = f'taint "{key}{":" + effect if effect else ""}" not found'
                if name:
                    raise NotFound(message)
                errors.append(message)
                continue
            taints = kept
            verb = "untainted"
        else:
            if not effect:
                raise FieldError("a taint needs an effect (NoSchedule, PreferNoSchedule or NoExecute)", "taint")
            if any(t.get("key") == key and t.get("effect") == effect for t in taints):
                raise FieldError(f"node {node.name} already has {key} taint(s) with same effect(s) and --overwrite "
                                 f"is false", "taint")
            entry = {"key": key, "effect": effect, **({"value": value} if value else {})}
            if effect == "NoExecute":
                entry["timeAdded"] = store.now()
            taints.append(entry)
            verb = "tainted"

        def change(d: dict, new=taints) -> None:
            if new:
                d["spec"]["taints"] = new
            else:
                d["spec"].pop("taints", None)

        store.update(node.evolve(change))
        lines.append(f"node/{node.name} {verb}")
    return lines, errors
