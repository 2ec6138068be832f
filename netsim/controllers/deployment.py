"""The Deployment controller (thin for now): one ReplicaSet per pod template, scaled to spec.replicas.

The ReplicaSet is named `<deployment>-<pod-template-hash>` and its pods carry
the hash label. A template change makes a new ReplicaSet and scales the old
ones to zero at once (the rolling pace of maxSurge/maxUnavailable is not
emulated yet); a replicas change scales the current one.
"""

from __future__ import annotations

import copy

from netsim.api.objects import Deployment, ReplicaSet
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by, pod_template_hash

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"


def reconcile(store: Store) -> None:
    """One pass over every Deployment."""
    for deploy in store.list("Deployment"):
        if deploy.deletion_timestamp:
            continue
        _sync(store, deploy)  # type: ignore[arg-type]


def _sync(store: Store, deploy: Deployment) -> None:
    template = deploy.template
    owned = [rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)]
    current = find_new_replicaset(template, owned)
    if current is None:
        template_hash = pod_template_hash(template)
        current = store.create(_replicaset(deploy, f"{deploy.name}-{template_hash}", template, template_hash))
        store.record_event(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {current.name} to {deploy.replicas}", COMPONENT)
    elif current.replicas != deploy.replicas:
        before = current.replicas
        verb = "up" if deploy.replicas > before else "down"
        current = store.update(current.evolve(lambda d: d["spec"].__setitem__("replicas", deploy.replicas)))
        store.record_event(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled {verb} replica set {current.name} from {before} to {deploy.replicas}", COMPONENT)
    name = current.name
    for old in owned:
        if old.name != name and old.replicas != 0:
            store.update(old.evolve(lambda d: d["spec"].__setitem__("replicas", 0)))
            store.record_event(deploy, "Normal", "ScalingReplicaSet",
                               f"Scaled down replica set {old.name} from {old.replicas} to 0", COMPONENT)
    _write_status(store, store.get("Deployment", deploy.name, deploy.namespace), current)  # type: ignore[arg-type]


def _without_hash(template: dict) -> dict:
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    meta = dict(template.get("metadata") or {})
    meta.pop("creationTimestamp", None)
    meta["labels"] = labels
    return {**template, "metadata": meta}


def find_new_replicaset(template: dict, owned: list) -> ReplicaSet | None:
    """The owned ReplicaSet whose template equals the Deployment's, the hash label aside (FindNewReplicaSet).

    The oldest wins when several match, as the controller sorts by creation time.
    """
    wanted = _without_hash(template)
    matches = [rs for rs in owned if _without_hash(rs.template) == wanted]
    matches.sort(key=lambda rs: (rs.creation_timestamp, rs.name))
    return matches[0] if matches else None


def _replicaset(deploy: Deployment, name: str, template: dict, template_hash: str) -> dict:
    template = copy.deepcopy(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = template_hash
    selector = copy.deepcopy(dict(deploy.selector))
    selector.setdefault("matchLabels", {})[HASH_LABEL] = template_hash
    labels = dict(template["metadata"]["labels"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": deploy.namespace,
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(deploy.replicas),
                "deployment.kubernetes.io/max-replicas": str(deploy.replicas + 1),
                "deployment.kubernetes.io/revision": "1",
            },
            "ownerReferences": [controller_ref(deploy)],
        },
        "spec": {"replicas": deploy.replicas, "selector": selector, "template": template},
    }


def _write_status(store: Store, deploy: Deployment, rs: ReplicaSet) -> None:
    rs = store.get("ReplicaSet", rs.name, rs.namespace)  # type: ignore[assignment]
    ready = int(rs.status.get("readyReplicas", 0))
    status = {
        "observedGeneration": deploy.generation,
        "replicas": int(rs.status.get("replicas", 0)),
        "updatedReplicas": int(rs.status.get("replicas", 0)),
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    unavailable = deploy.replicas - ready
    if unavailable > 0:
        status["unavailableReplicas"] = unavailable
    status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
    if {k: v for k, v in deploy.status.items() if k != "conditions"} != status:
        store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))
