"""The Deployment controller: one ReplicaSet per pod template, rolled as the strategy says, with revisions.

As kube-controller-manager's deployment controller (sync.go, rolling.go,
recreate.go): the ReplicaSet is named `<deployment>-<pod-template-hash>` and
its pods carry the hash label. A replicas change scales the current
ReplicaSet; any template change makes a new one (or reuses the old one whose
template matches, as a rollback does) and rolls:

- RollingUpdate: the new ReplicaSet grows while all ReplicaSets together stay
  within replicas + maxSurge (NewRSNewReplicas); old ones shrink, unhealthy
  pods first, while the available pods stay at or above replicas -
  maxUnavailable (reconcileOldReplicaSets); surge rounds up and unavailable
  down, and both zero means one unavailable (ResolveFenceposts). Each step
  waits for pods to become ready on the simulated clock.
- Recreate: old ReplicaSets go to zero, and the new one is scaled up once no
  old pod is left.

The new ReplicaSet's `deployment.kubernetes.io/revision` is one more than the
highest of the others (a reused one moves to the top), and the Deployment
carries it too; `rollback(store, deployment, revision)` is `kubectl rollout
undo`: the template of that revision (default: the one before) becomes the
Deployment's.
"""

from __future__ import annotations

import copy
import math

from netsim.api.errors import NotFound
from netsim.api.objects import Deployment, ReplicaSet
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by, pod_template_hash

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def reconcile(store: Store) -> None:
    """One pass over every Deployment."""
    for deploy in store.list("Deployment"):
        if deploy.deletion_timestamp:
            continue
        _sync(store, deploy)  # type: ignore[arg-type]


def resolve_fenceposts(deploy: Deployment) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts (deploymentutil.ResolveFenceposts)."""
    strategy = deploy.spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, deploy.replicas
    rolling = strategy.get("rollingUpdate") or {}

    def scaled(value, round_up: bool) -> int:
        text = str(value if value is not None else "25%")
        if text.endswith("%"):
            exact = int(text[:-1]) * deploy.replicas / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(text)

    surge = scaled(rolling.get("maxSurge"), True)
    unavailable = scaled(rolling.get("maxUnavailable"), False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _revision(rs: ReplicaSet) -> int:
    try:
        return int(rs.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def _scale(store: Store, deploy: Deployment, rs: ReplicaSet, replicas: int) -> ReplicaSet:
    if rs.replicas == replicas:
        return rs
    verb = "up" if replicas > rs.replicas else "down"
    before = rs.replicas

    def change(d: dict) -> None:
        d["spec"]["replicas"] = replicas
        notes = d["metadata"].setdefault("annotations", {})
        notes["deployment.kubernetes.io/desired-replicas"] = str(deploy.replicas)
        notes["deployment.kubernetes.io/max-replicas"] = str(deploy.replicas + resolve_fenceposts(deploy)[0])

    updated = store.update(rs.evolve(change))
    store.record_event(deploy, "Normal", "ScalingReplicaSet",
                       f"Scaled {verb} replica set {rs.name} from {before} to {replicas}", COMPONENT)
    return updated  # type: ignore[return-value]


def _sync(store: Store, deploy: Deployment) -> None:
    template = deploy.template
    owned = sorted((rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)),
                   key=lambda r: (r.creation_timestamp, r.name))
    current = find_new_replicaset(template, owned)
    olds = [rs for rs in owned if current is None or rs.name != current.name]
    top = max((_revision(rs) for rs in olds), default=0)
    surge, unavailable = resolve_fenceposts(deploy)
    recreate = (deploy.spec.get("strategy") or {}).get("type") == "Recreate"
    if current is None:
        if recreate:
            size = 0 if any(rs.replicas or rs.status.get("replicas") for rs in olds) else deploy.replicas
        else:
            total = sum(rs.replicas for rs in olds)
            size = max(0, min(deploy.replicas + surge - total, deploy.replicas))
        collisions = 0
        template_hash = pod_template_hash(template)
        while store.try_get("ReplicaSet", f"{deploy.name}-{template_hash}", deploy.namespace) is not None:
            collisions += 1        # status.collisionCount: a name taken by a different template
            template_hash = pod_template_hash(template, collisions)
        current = store.create(_replicaset(deploy, f"{deploy.name}-{template_hash}", template, template_hash,
                                           size, top + 1, surge))  # type: ignore[assignment]
        store.record_event(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {current.name} to {size}", COMPONENT)
    elif _revision(current) <= top:
        current = store.update(current.evolve(   # type: ignore[assignment]
            lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(REVISION, str(top + 1))))
    if recreate:
        for old in olds:
            _scale(store, deploy, old, 0)
        if any(p for p in store.list("Pod", deploy.namespace) for rs in olds if is_owned_by(p, rs)):
            return _write_status(store, deploy, current)
        current = _scale(store, deploy, current, deploy.replicas)
    else:
        if not any(rs.replicas for rs in olds):
            current = _scale(store, deploy, current, deploy.replicas)
        else:
            current = _roll(store, deploy, current, olds, surge, unavailable)
    _write_status(store, deploy, current)


def _available(rs: ReplicaSet) -> int:
    return int(rs.status.get("availableReplicas", 0))


def _roll(store: Store, deploy: Deployment, new: ReplicaSet, olds: list, surge: int, unavailable: int) -> ReplicaSet:
    """One step of a rolling update: grow the new ReplicaSet, then shrink the old ones (rolling.go)."""
    total = new.replicas + sum(rs.replicas for rs in olds)
    if new.replicas < deploy.replicas:
        grow = min(deploy.replicas + surge - total, deploy.replicas - new.replicas)
        if grow > 0:
            new = _scale(store, deploy, new, new.replicas + grow)
            total += grow
    elif new.replicas > deploy.replicas:
        new = _scale(store, deploy, new, deploy.replicas)
    min_available = deploy.replicas - unavailable
    new_unavailable = new.replicas - _available(new)
    room = total - min_available - new_unavailable
    if room <= 0:
        return new
    for rs in olds:                        # cleanupUnhealthyReplicas: unavailable old pods first
        if room <= 0:
            break
        bad = min(room, rs.replicas - _available(rs))
        if bad > 0:
            _scale(store, deploy, rs, rs.replicas - bad)
            room -= bad
    olds = [store.get("ReplicaSet", rs.name, rs.namespace) for rs in olds]
    available = _available(new) + sum(_available(rs) for rs in olds)
    budget = min(available - min_available, room)
    for rs in olds:                        # scaleDownOldReplicaSetsForRollingUpdate, oldest first
        if budget <= 0:
            break
        down = min(rs.replicas, budget)
        if down > 0:
            _scale(store, deploy, rs, rs.replicas - down)  # type: ignore[arg-type]
            budget -= down
    return new


def rollback(store: Store, deploy: Deployment, revision: int = 0) -> int:
    """`kubectl rollout undo`: the template of `revision` (0: the previous one) becomes the Deployment's."""
    owned = [rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)]
    by_revision = {_revision(rs): rs for rs in owned}  # type: ignore[arg-type]
    if revision == 0:
        earlier = sorted(r for r in by_revision if r < max(by_revision, default=0))
        if not earlier:
            raise NotFound(f'no rollout history found for deployment "{deploy.name}"')
        revision = earlier[-1]
    if revision not in by_revision:
        raise NotFound(f"unable to find specified revision {revision} in history")
    template = _without_hash(copy.deepcopy(by_revision[revision].template))
    store.update(deploy.evolve(lambda d: d["spec"].__setitem__("template", template)))
    return revision


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


def _replicaset(deploy: Deployment, name: str, template: dict, template_hash: str, size: int, revision: int,
                surge: int) -> dict:
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
                "deployment.kubernetes.io/max-replicas": str(deploy.replicas + surge),
                REVISION: str(revision),
            },
            "ownerReferences": [controller_ref(deploy)],
        },
        "spec": {"replicas": size, "selector": selector, "template": template},
    }


def _conditions(deploy: Deployment, new: ReplicaSet, status: dict, complete: bool, stamp: str) -> list[dict]:
    """Available and Progressing, as the controller's syncRolloutStatus writes them (times kept when unchanged)."""
    _, unavailable = resolve_fenceposts(deploy)
    available = status.get("availableReplicas", 0) >= deploy.replicas - unavailable
    wanted = [
        ("Available", "True" if available else "False",
         "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
         "Deployment has minimum availability." if available else "Deployment does not have minimum availability."),
        ("Progressing", "True", "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
         f'ReplicaSet "{new.name}" has successfully progressed.' if complete else f'ReplicaSet "{new.name}" is progressing.'),
    ]
    old = {c.get("type"): c for c in deploy.status.get("conditions") or []}
    out = []
    for type_, value, reason, message in wanted:
        before = old.get(type_) or {}
        same = before.get("status") == value
        changed = not same or before.get("reason") != reason or before.get("message") != message
        out.append({"type": type_, "status": value,
                    "lastUpdateTime": stamp if changed else before.get("lastUpdateTime", stamp),
                    "lastTransitionTime": before.get("lastTransitionTime", stamp) if same else stamp,
                    "reason": reason, "message": message})
    return out


def _write_status(store: Store, deploy: Deployment, new: ReplicaSet) -> None:
    deploy = store.get("Deployment", deploy.name, deploy.namespace)  # type: ignore[assignment]
    owned = [rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)]
    new = store.get("ReplicaSet", new.name, new.namespace)  # type: ignore[assignment]
    total = sum(int(rs.status.get("replicas", 0)) for rs in owned)
    ready = sum(int(rs.status.get("readyReplicas", 0)) for rs in owned)
    available = sum(int(rs.status.get("availableReplicas", 0)) for rs in owned)
    status = {
        "observedGeneration": deploy.generation,
        "replicas": total,
        "updatedReplicas": int(new.status.get("replicas", 0)),
        "readyReplicas": ready,
        "availableReplicas": available,
    }
    if deploy.replicas - available > 0:
        status["unavailableReplicas"] = deploy.replicas - available
    status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
    complete = (status.get("updatedReplicas", 0) == deploy.replicas == status.get("replicas", 0)
                == status.get("availableReplicas", 0))
    status["conditions"] = _conditions(deploy, new, status, complete, store.now())  # type: ignore[arg-type]
    revision = new.annotations.get(REVISION)
    if dict(deploy.status) != status:
        deploy = store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))  # type: ignore[assignment]
    if revision and deploy.annotations.get(REVISION) != revision:
        store.update(deploy.evolve(lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(REVISION,
                                                                                                      revision)))
