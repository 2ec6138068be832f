"""The Deployment controller: one ReplicaSet per pod template, rolled as the strategy says, with revisions.

As kube-controller-manager's deployment controller (deployment_controller.go,
sync.go, rolling.go, recreate.go, progress.go, util/deployment_util.go): the
ReplicaSet is named `<deployment>-<pod-template-hash>`, its pods carry the hash
label, and it inherits spec.minReadySeconds, so its availableReplicas counts
pods Ready that long. Each sync is one of:

- paused, or a scaling event (an active ReplicaSet's
  `deployment.kubernetes.io/desired-replicas` differs from spec.replicas):
  `sync` — no rollout; with one active ReplicaSet it takes all the replicas,
  with several the difference is shared out in proportion to each one's size
  against its `max-replicas` annotation (GetProportion), leftovers to the
  largest; a paused Deployment also cleans up old ReplicaSets.
- RollingUpdate: the new ReplicaSet grows while all ReplicaSets together stay
  within replicas + maxSurge (NewRSNewReplicas); old ones shrink, unavailable
  pods first, while the available pods stay at or above replicas -
  maxUnavailable (reconcileOldReplicaSets); surge rounds up and unavailable
  down, and both zero means one unavailable (ResolveFenceposts).
- Recreate: old ReplicaSets go to zero; the new one is created and scaled up
  once no old pod is left.

A finished rollout deletes old ReplicaSets at zero replicas beyond
revisionHistoryLimit (default 10), lowest revision first (cleanupDeployment).
Status carries the Available condition (MinimumReplicasAvailable /
MinimumReplicasUnavailable) and, with progressDeadlineSeconds (default 600),
Progressing: NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated on
progress, NewReplicaSetAvailable when complete, ProgressDeadlineExceeded
(False) when no progress was seen for the deadline, DeploymentPaused /
DeploymentResumed (Unknown) on pause and resume; conditions are replaced and
appended as SetDeploymentCondition does, so their order is the controller's.
A ReplicaSet's ReplicaFailure condition (a refused pod create) is copied as the
Deployment's ReplicaFailure (getReplicaFailures: the new ReplicaSet's first),
and removed once no ReplicaSet has one.

The new ReplicaSet's `deployment.kubernetes.io/revision` is one more than the
highest of the others (a reused one moves to the top, its old number kept in
`deployment.kubernetes.io/revision-history`), and the Deployment carries it
too, and the Deployment's other annotations (kubernetes.io/change-cause, say) are
copied onto it; `rollback(store, deployment, revision)` is `kubectl rollout undo`.
`reconcile(store)` returns when a progress deadline next falls due (inf: none).
"""

from __future__ import annotations

import copy
import math
from functools import cmp_to_key

from netsim.api.errors import NotFound
from netsim.api.objects import Deployment, ReplicaSet
from netsim.api.store import Store
from netsim.controllers.workloads import controller_ref, is_owned_by, pod_template_hash
from netsim.sim.clock import parse_rfc3339

COMPONENT = "deployment-controller"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
MAX_REVISION_HISTORY_CHARS = 2000      # the controller manager's default maxRevHistoryLengthInChars
# Deployment annotations never copied to its ReplicaSets (deploymentutil annotationsToSkip).
ANNOTATIONS_TO_SKIP = frozenset({"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
                                 DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to"})

# Condition reasons (deployment/util/deployment_util.go).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


def reconcile(store: Store) -> float:
    """One pass over every Deployment; returns when a progress deadline next needs a look."""
    due = math.inf
    for deploy in store.list("Deployment"):
        if deploy.deletion_timestamp:
            continue
        due = min(due, _sync(store, deploy))  # type: ignore[arg-type]
    return due


# fenceposts -----------------------------------------------------------------------------

def _rolling(deploy: Deployment) -> bool:
    return (deploy.spec.get("strategy") or {}).get("type", "RollingUpdate") != "Recreate"


def resolve_fenceposts(deploy: Deployment) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts (deploymentutil.ResolveFenceposts); Recreate: (0, replicas)."""
    if not _rolling(deploy):
        return 0, deploy.replicas
    rolling = (deploy.spec.get("strategy") or {}).get("rollingUpdate") or {}

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


def max_surge(deploy: Deployment) -> int:
    """deploymentutil.MaxSurge: 0 unless RollingUpdate."""
    return resolve_fenceposts(deploy)[0] if _rolling(deploy) else 0


def max_unavailable(deploy: Deployment) -> int:
    """deploymentutil.MaxUnavailable: 0 unless RollingUpdate (or with no replicas), at most replicas."""
    if not _rolling(deploy) or deploy.replicas == 0:
        return 0
    return min(resolve_fenceposts(deploy)[1], deploy.replicas)


def _progress_deadline(deploy: Deployment) -> int | None:
    """spec.progressDeadlineSeconds (default 600), None when unset to MaxInt32 (HasProgressDeadline false)."""
    value = deploy.spec.get("progressDeadlineSeconds", 600)
    return None if value is None or int(value) == 2**31 - 1 else int(value)


# replica sets ---------------------------------------------------------------------------

def _revision(rs: ReplicaSet) -> int:
    try:
        return int(rs.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def _replicas(rs: ReplicaSet | None) -> int:
    return rs.replicas if rs is not None else 0


def _available(rs: ReplicaSet | None) -> int:
    return int(rs.status.get("availableReplicas", 0)) if rs is not None else 0


def _active(rss: list) -> list:
    """controller.FilterActiveReplicaSets: those with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and rs.replicas > 0]


def _by_age(rs: ReplicaSet) -> tuple:
    return rs.creation_timestamp, rs.name


def _fresh(store: Store, rs: ReplicaSet) -> ReplicaSet:
    return store.get("ReplicaSet", rs.name, rs.namespace)  # type: ignore[return-value]


def _scale(store: Store, deploy: Deployment, rs: ReplicaSet, replicas: int, operation: str = "") -> ReplicaSet:
    """scaleReplicaSet: size and the desired/max-replicas annotations, with the ScalingReplicaSet event.

    Without `operation` this is scaleReplicaSetAndRecordEvent, which leaves a
    ReplicaSet already at that size alone (annotations included).
    """
    desired, maximum = str(deploy.replicas), str(deploy.replicas + max_surge(deploy))
    if rs.replicas == replicas and (not operation or (rs.annotations.get(DESIRED_REPLICAS) == desired
                                                      and rs.annotations.get(MAX_REPLICAS) == maximum)):
        return rs
    before = rs.replicas
    operation = operation or ("up" if replicas > before else "down")

    def change(d: dict) -> None:
        d["spec"]["replicas"] = replicas
        notes = d["metadata"].setdefault("annotations", {})
        notes[DESIRED_REPLICAS] = desired
        notes[MAX_REPLICAS] = maximum

    updated = store.update(rs.evolve(change))
    if before != replicas:
        store.record_event(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled {operation} replica set {rs.name} from {before} to {replicas}", COMPONENT)
    return updated  # type: ignore[return-value]


def new_rs_new_replicas(deploy: Deployment, all_rss: list, new: ReplicaSet | None) -> int:
    """deploymentutil.NewRSNewReplicas: how big the new ReplicaSet may be now."""
    if not _rolling(deploy):
        return deploy.replicas
    current = sum(_replicas(rs) for rs in all_rss)
    limit = deploy.replicas + max_surge(deploy)
    if current >= limit:
        return _replicas(new)
    return _replicas(new) + min(limit - current, deploy.replicas - _replicas(new))


def _sync(store: Store, deploy: Deployment) -> float:
    """syncDeployment: paused and scaling syncs, else the strategy's rollout."""
    deploy = _check_paused_conditions(store, deploy)
    owned = sorted((rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)), key=_by_age)
    if deploy.spec.get("paused") or _is_scaling_event(deploy, owned):
        _sync_scaling(store, deploy, owned)
        return math.inf
    if _rolling(deploy):
        return _rollout_rolling(store, deploy, owned)
    return _rollout_recreate(store, deploy, owned)


def _check_paused_conditions(store: Store, deploy: Deployment) -> Deployment:
    """checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed."""
    if _progress_deadline(deploy) is None:
        return deploy
    cond = _condition(deploy.status, "Progressing")
    if cond is not None and cond.get("reason") == TIMED_OUT:
        return deploy
    paused_exists = cond is not None and cond.get("reason") == PAUSED
    if deploy.spec.get("paused") and not paused_exists:
        wanted = _new_condition(store, "Progressing", "Unknown", PAUSED, "Deployment is paused")
    elif not deploy.spec.get("paused") and paused_exists:
        wanted = _new_condition(store, "Progressing", "Unknown", RESUMED, "Deployment is resumed")
    else:
        return deploy
    status = copy.deepcopy(dict(deploy.status))
    _set_condition(status, wanted)
    return store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))  # type: ignore[return-value]


def _is_scaling_event(deploy: Deployment, owned: list) -> bool:
    """isScalingEvent: an active ReplicaSet's desired-replicas annotation differs from spec.replicas."""
    for rs in _active(owned):
        desired = rs.annotations.get(DESIRED_REPLICAS)
        if desired is not None and desired.lstrip("-").isdigit() and int(desired) != deploy.replicas:
            return True
    return False


def _all_replicasets(store: Store, deploy: Deployment, owned: list,
                     create: bool) -> tuple[Deployment, ReplicaSet | None, list]:
    """getAllReplicaSetsAndSyncRevision: (the Deployment, the new ReplicaSet or None, the old ones)."""
    new = find_new_replicaset(deploy.template, owned)
    olds = [rs for rs in owned if new is None or rs.name != new.name]
    revision = max((_revision(rs) for rs in olds), default=0) + 1
    status = copy.deepcopy(dict(deploy.status))
    if new is not None:
        new = _sync_new_annotations(store, deploy, new, revision)
        deadline = _progress_deadline(deploy)
        if deadline is not None and _condition(status, "Progressing") is None:
            _set_condition(status, _new_condition(store, "Progressing", "True", FOUND_NEW_RS,
                                                  f'Found new replica set "{new.name}"'))
    elif create:
        new, collisions = _create_new(store, deploy, olds, revision)
        if collisions:
            status["collisionCount"] = collisions
        if _progress_deadline(deploy) is not None:
            _set_condition(status, _new_condition(store, "Progressing", "True", NEW_RS_CREATED,
                                                  f'Created new replica set "{new.name}"'))
    if new is not None and deploy.annotations.get(REVISION) != new.annotations.get(REVISION):
        rev = new.annotations.get(REVISION)
        deploy = store.update(deploy.evolve(  # type: ignore[assignment]
            lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(REVISION, rev)))
    if status != dict(deploy.status):
        deploy = store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))  # type: ignore[assignment]
    return deploy, new, olds


def copied_annotations(deploy: Deployment) -> dict:
    """The Deployment's annotations its new ReplicaSet carries (copyDeploymentAnnotationsToReplicaSet)."""
    return {k: v for k, v in deploy.annotations.items() if k not in ANNOTATIONS_TO_SKIP}


def _sync_new_annotations(store: Store, deploy: Deployment, rs: ReplicaSet, revision: int) -> ReplicaSet:
    """SetNewReplicaSetAnnotations on an existing new ReplicaSet, and its minReadySeconds."""
    old = rs.annotations.get(REVISION)
    min_ready = int(deploy.spec.get("minReadySeconds", 0) or 0)
    bump = _revision(rs) < revision
    copied = copied_annotations(deploy)
    if not bump and int(rs.spec.get("minReadySeconds", 0) or 0) == min_ready \
            and all(rs.annotations.get(k) == v for k, v in copied.items()):
        return rs

    def change(d: dict) -> None:
        notes = d["metadata"].setdefault("annotations", {})
        notes.update(copied)
        if bump:
            notes[REVISION] = str(revision)
            if old is not None:
                history = [h for h in notes.get(REVISION_HISTORY, "").split(",") if h]
                while history and len(",".join(history + [old])) > MAX_REVISION_HISTORY_CHARS:
                    history.pop(0)
                notes[REVISION_HISTORY] = ",".join(history + [old])
        if min_ready:
            d["spec"]["minReadySeconds"] = min_ready
        else:
            d["spec"].pop("minReadySeconds", None)

    return store.update(rs.evolve(change))  # type: ignore[return-value]


def _create_new(store: Store, deploy: Deployment, olds: list, revision: int) -> tuple[ReplicaSet, int]:
    """The new ReplicaSet, sized by NewRSNewReplicas; also the collisionCount its name needed."""
    template = deploy.template
    collisions = int(deploy.status.get("collisionCount", 0) or 0)
    template_hash = pod_template_hash(template, collisions)
    while store.try_get("ReplicaSet", f"{deploy.name}-{template_hash}", deploy.namespace) is not None:
        collisions += 1        # status.collisionCount: a name taken by a different template
        template_hash = pod_template_hash(template, collisions)
    size = new_rs_new_replicas(deploy, olds, None)
    created = store.create(_replicaset(deploy, f"{deploy.name}-{template_hash}", template, template_hash, size,
                                       revision))
    if size > 0:
        store.record_event(deploy, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {created.name} from 0 to {size}", COMPONENT)
    return created, collisions  # type: ignore[return-value]


# the syncs ------------------------------------------------------------------------------

def _sync_scaling(store: Store, deploy: Deployment, owned: list) -> None:
    """sync: scale (proportionally while several ReplicaSets are active), clean up when paused, write status."""
    deploy, new, olds = _all_replicasets(store, deploy, owned, create=False)
    _scale_all(store, deploy, new, olds)
    olds = [_fresh(store, rs) for rs in olds]
    if deploy.spec.get("paused"):
        _cleanup(store, deploy, olds)
    new = _fresh(store, new) if new is not None else None
    status = _calculate_status(store, deploy, new)
    if status != dict(deploy.status):
        store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))


def _scale_all(store: Store, deploy: Deployment, new: ReplicaSet | None, olds: list) -> None:
    """scale: one active (or the latest) ReplicaSet takes spec.replicas; else proportional scaling."""
    if new is None and not olds:
        return
    newest_first = sorted(olds, key=_by_age, reverse=True)
    actives = _active(newest_first + [new])
    target = None                    # FindActiveOrLatest
    if not actives:
        target = new if new is not None else newest_first[0]
    elif len(actives) == 1:
        target = actives[0]
    if target is not None:
        if target.replicas != deploy.replicas:
            _scale(store, deploy, target, deploy.replicas)
        return
    if new is not None and new.replicas == deploy.replicas and _available(new) == deploy.replicas \
            and new.annotations.get(DESIRED_REPLICAS) == str(deploy.replicas):   # IsSaturated
        for old in _active(olds):
            _scale(store, deploy, old, 0)
        return
    if not _rolling(deploy):
        return
    actives = _active(olds + [new])
    allowed = deploy.replicas + max_surge(deploy) if deploy.replicas > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in actives)
    if to_add > 0:
        actives.sort(key=cmp_to_key(_by_size_newer))
        operation = "up"
    elif to_add < 0:
        actives.sort(key=cmp_to_key(_by_size_older))
        operation = "down"
    else:
        operation = ""
    sizes, added = {}, 0
    for rs in actives:
        if to_add:
            share = get_proportion(rs, deploy, to_add, added)
            sizes[rs.name] = rs.replicas + share
            added += share
        else:
            sizes[rs.name] = rs.replicas
    for i, rs in enumerate(actives):
        if i == 0 and to_add:
            sizes[rs.name] = max(0, sizes[rs.name] + to_add - added)   # leftovers to the largest
        _scale(store, deploy, rs, sizes[rs.name], operation or "up")


def _by_size_newer(a: ReplicaSet, b: ReplicaSet) -> int:
    """controller.ReplicaSetsBySizeNewer: larger first, newer first among equals."""
    if a.replicas != b.replicas:
        return -1 if a.replicas > b.replicas else 1
    return -1 if _by_age(a) > _by_age(b) else (1 if _by_age(a) < _by_age(b) else 0)


def _by_size_older(a: ReplicaSet, b: ReplicaSet) -> int:
    """controller.ReplicaSetsBySizeOlder: larger first, older first among equals."""
    if a.replicas != b.replicas:
        return -1 if a.replicas > b.replicas else 1
    return -1 if _by_age(a) < _by_age(b) else (1 if _by_age(a) > _by_age(b) else 0)


def _round_half_away(x: float) -> int:
    """integer.RoundToInt32 (math.Round): halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def get_proportion(rs: ReplicaSet, deploy: Deployment, to_add: int, added: int) -> int:
    """deploymentutil.GetProportion: this ReplicaSet's share of `to_add`, bounded by what is left to add."""
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    if deploy.replicas == 0:
        fraction = -rs.replicas
    else:
        maximum = deploy.replicas + max_surge(deploy)
        annotated = rs.annotations.get(MAX_REPLICAS, "")
        before = int(annotated) if annotated.lstrip("-").isdigit() else 0
        if before == 0:
            before = int(deploy.status.get("replicas", 0) or 0)
        fraction = 0 if before == 0 else _round_half_away(rs.replicas * maximum / before) - rs.replicas
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _rollout_rolling(store: Store, deploy: Deployment, owned: list) -> float:
    """rolloutRolling: scale the new ReplicaSet up, else the old ones down, else clean up; then the status."""
    deploy, new, olds = _all_replicasets(store, deploy, owned, create=True)
    assert new is not None
    all_rss = olds + [new]
    if _reconcile_new(store, deploy, all_rss, new):
        return _sync_rollout_status(store, deploy, new)
    if _reconcile_olds(store, deploy, all_rss, _active(olds), new):
        return _sync_rollout_status(store, deploy, new)
    if deployment_complete(deploy, deploy.status):
        _cleanup(store, deploy, olds)
    return _sync_rollout_status(store, deploy, new)


def _reconcile_new(store: Store, deploy: Deployment, all_rss: list, new: ReplicaSet) -> bool:
    if new.replicas == deploy.replicas:
        return False
    size = deploy.replicas if new.replicas > deploy.replicas else new_rs_new_replicas(deploy, all_rss, new)
    return _scale(store, deploy, new, size).replicas != new.replicas


def _reconcile_olds(store: Store, deploy: Deployment, all_rss: list, olds: list, new: ReplicaSet) -> bool:
    """reconcileOldReplicaSets: cleanupUnhealthyReplicas, then scaleDownOldReplicaSetsForRollingUpdate."""
    if not sum(rs.replicas for rs in olds):
        return False
    min_available = deploy.replicas - max_unavailable(deploy)
    new_unavailable = new.replicas - _available(new)
    room = sum(rs.replicas for rs in all_rss) - min_available - new_unavailable
    if room <= 0:
        return False
    scaled = 0
    olds = sorted(olds, key=_by_age)
    for i, rs in enumerate(olds):
        if scaled >= room:
            break
        if rs.replicas == 0 or rs.replicas == _available(rs):
            continue
        down = min(room - scaled, rs.replicas - _available(rs))
        olds[i] = _scale(store, deploy, rs, rs.replicas - down)
        scaled += down
    available = sum(_available(rs) for rs in olds) + _available(new)
    if available > min_available:
        budget, done = available - min_available, 0
        for rs in olds:
            if done >= budget:
                break
            if rs.replicas == 0:
                continue
            down = min(rs.replicas, budget - done)
            _scale(store, deploy, rs, rs.replicas - down)
            done += down
        scaled += done
    return scaled > 0


def _rollout_recreate(store: Store, deploy: Deployment, owned: list) -> float:
    """rolloutRecreate: old ReplicaSets to zero, wait for their pods to go, then the new one at full size."""
    deploy, new, olds = _all_replicasets(store, deploy, owned, create=False)
    scaled = False
    for old in _active(olds):
        _scale(store, deploy, old, 0)
        scaled = True
    if scaled or _old_pods_running(store, deploy, new, [_fresh(store, rs) for rs in olds]):
        return _sync_rollout_status(store, deploy, new)
    if new is None:
        deploy, new, olds = _all_replicasets(store, deploy, owned, create=True)
    assert new is not None
    if new.replicas != deploy.replicas:
        new = _scale(store, deploy, new, deploy.replicas)
    if deployment_complete(deploy, deploy.status):
        _cleanup(store, deploy, olds)
    return _sync_rollout_status(store, deploy, new)


def _old_pods_running(store: Store, deploy: Deployment, new: ReplicaSet | None, olds: list) -> bool:
    """oldPodsRunning: old ReplicaSets still report pods, or an old pod is not yet Succeeded or Failed."""
    if sum(int(rs.status.get("replicas", 0) or 0) for rs in olds):
        return True
    return any(is_owned_by(pod, rs) and pod.phase not in ("Succeeded", "Failed")
               for pod in store.list("Pod", deploy.namespace) for rs in olds
               if new is None or rs.uid != new.uid)


def _cleanup(store: Store, deploy: Deployment, olds: list) -> None:
    """cleanupDeployment: delete old ReplicaSets at zero beyond revisionHistoryLimit, lowest revision first."""
    limit = deploy.spec.get("revisionHistoryLimit", 10)
    if limit is None or int(limit) == 2**31 - 1:
        return
    alive = sorted((rs for rs in olds if not rs.deletion_timestamp),
                   key=lambda rs: (_revision(rs), rs.creation_timestamp, rs.name))
    for rs in alive[:max(0, len(alive) - int(limit))]:
        rs = _fresh(store, rs)
        if int(rs.status.get("replicas", 0) or 0) or rs.replicas \
                or rs.generation > int(rs.status.get("observedGeneration", 0) or 0):
            continue
        store.delete("ReplicaSet", rs.name, rs.namespace)


# status -----------------------------------------------------------------------------------

def deployment_complete(deploy: Deployment, status) -> bool:
    """deploymentutil.DeploymentComplete: every replica updated and available, at this generation."""
    return (int(status.get("updatedReplicas", 0)) == deploy.replicas == int(status.get("replicas", 0))
            == int(status.get("availableReplicas", 0))
            and int(status.get("observedGeneration", 0)) >= deploy.generation)


def _condition(status, type_: str) -> dict | None:
    return next((c for c in status.get("conditions") or () if c.get("type") == type_), None)


def _new_condition(store: Store, type_: str, value: str, reason: str, message: str) -> dict:
    stamp = store.now()
    return {"type": type_, "status": value, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def _set_condition(status: dict, cond: dict) -> None:
    """SetDeploymentCondition: no-op for the same status and reason; else replace (transition time kept) and append."""
    current = _condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [c for c in status.get("conditions") or () if c.get("type") != cond["type"]] + [cond]


def _remove_condition(status: dict, type_: str) -> None:
    kept = [c for c in status.get("conditions") or () if c.get("type") != type_]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def _calculate_status(store: Store, deploy: Deployment, new: ReplicaSet | None) -> dict:
    """calculateStatus: counts over the owned ReplicaSets and the Available condition."""
    owned = [rs for rs in store.list("ReplicaSet", deploy.namespace) if is_owned_by(rs, deploy)]
    available = sum(_available(rs) for rs in owned)
    counts = {
        "observedGeneration": deploy.generation,
        "replicas": sum(int(rs.status.get("replicas", 0) or 0) for rs in owned),
        "updatedReplicas": int(new.status.get("replicas", 0) or 0) if new is not None else 0,
        "readyReplicas": sum(int(rs.status.get("readyReplicas", 0) or 0) for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum(rs.replicas for rs in owned) - available),
    }
    status: dict = {k: v for k, v in counts.items() if v}
    if deploy.status.get("conditions"):
        status["conditions"] = copy.deepcopy(list(deploy.status["conditions"]))
    if deploy.status.get("collisionCount") is not None:
        status["collisionCount"] = deploy.status["collisionCount"]
    if available >= deploy.replicas - max_unavailable(deploy):
        _set_condition(status, _new_condition(store, "Available", "True", MIN_AVAILABLE,
                                              "Deployment has minimum availability."))
    else:
        _set_condition(status, _new_condition(store, "Available", "False", MIN_UNAVAILABLE,
                                              "Deployment does not have minimum availability."))
    return status


def _progressing(old, new: dict) -> bool:
    """deploymentutil.DeploymentProgressing: more updated, fewer old, more ready or more available replicas."""
    def n(status, key: str) -> int:
        return int(status.get(key, 0) or 0)
    return (n(new, "updatedReplicas") > n(old, "updatedReplicas")
            or n(new, "replicas") - n(new, "updatedReplicas") < n(old, "replicas") - n(old, "updatedReplicas")
            or n(new, "readyReplicas") > n(old, "readyReplicas")
            or n(new, "availableReplicas") > n(old, "availableReplicas"))


def _sync_rollout_status(store: Store, deploy: Deployment, new: ReplicaSet | None) -> float:
    """syncRolloutStatus: the status with the Progressing condition; returns when to look again for a deadline."""
    deploy = store.get("Deployment", deploy.name, deploy.namespace)  # type: ignore[assignment]
    new = _fresh(store, new) if new is not None else None
    status = _calculate_status(store, deploy, new)
    deadline = _progress_deadline(deploy)
    if deadline is None:
        _remove_condition(status, "Progressing")
    current = _condition(deploy.status, "Progressing")
    complete_before = (int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0))
                       and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
    subject = f'ReplicaSet "{new.name}"' if new is not None else f'Deployment "{deploy.name}"'
    now = store.clock()
    if deadline is not None and not complete_before:
        if deployment_complete(deploy, status):
            _set_condition(status, _new_condition(store, "Progressing", "True", NEW_RS_AVAILABLE,
                                                  f"{subject} has successfully progressed."))
        elif _progressing(deploy.status, status):
            cond = _new_condition(store, "Progressing", "True", RS_UPDATED, f"{subject} is progressing.")
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                _remove_condition(status, "Progressing")
            _set_condition(status, cond)
        elif _timed_out(status, deadline, now):
            _set_condition(status, _new_condition(store, "Progressing", "False", TIMED_OUT,
                                                  f"{subject} has timed out progressing."))
    failure = replica_failure(store, deploy, new)
    if failure is not None:
        _set_condition(status, failure)
    else:
        _remove_condition(status, "ReplicaFailure")
    if status != dict(deploy.status):
        store.update(deploy.evolve(lambda d: d.__setitem__("status", status)))
        return math.inf       # the update triggers another sync, which requeues if still stuck
    return _requeue_stuck(deploy, status, now)


def replica_failure(store: Store, deploy: Deployment, new: ReplicaSet | None) -> dict | None:
    """getReplicaFailures: the new ReplicaSet's ReplicaFailure, else an old one's, as a Deployment condition.

    ReplicaSetToDeploymentCondition: lastUpdateTime is the ReplicaSet condition's lastTransitionTime.
    """
    olds = sorted((rs for rs in store.list("ReplicaSet", deploy.namespace)
                   if is_owned_by(rs, deploy) and (new is None or rs.uid != new.uid)), key=_by_age)
    for rs in ([new] if new is not None else []) + olds:
        cond = _condition(rs.status, "ReplicaFailure")
        if cond is not None:
            return {"type": "ReplicaFailure", "status": cond.get("status"),
                    "lastUpdateTime": cond.get("lastTransitionTime"),
                    "lastTransitionTime": cond.get("lastTransitionTime"),
                    "reason": cond.get("reason"), "message": cond.get("message")}
    return None


def _timed_out(status: dict, deadline: int, now: float) -> bool:
    """deploymentutil.DeploymentTimedOut: no progress since the Progressing condition's lastUpdateTime + deadline."""
    cond = _condition(status, "Progressing")
    if cond is None or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT):
        return False
    return parse_rfc3339(cond["lastUpdateTime"]) + deadline < now


def _requeue_stuck(deploy: Deployment, status: dict, now: float) -> float:
    """requeueStuckDeployment: a second after the deadline of a rollout still in progress (inf: none)."""
    deadline = _progress_deadline(deploy)
    cond = _condition(status, "Progressing")
    if deadline is None or cond is None or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT) \
            or deployment_complete(deploy, status):
        return math.inf
    after = parse_rfc3339(cond["lastUpdateTime"]) + deadline - now
    return now + (after + 1 if after >= 1 else 1)


# rollback -------------------------------------------------------------------------------

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
    matches.sort(key=_by_age)
    return matches[0] if matches else None


def _replicaset(deploy: Deployment, name: str, template: dict, template_hash: str, size: int, revision: int) -> dict:
    template = copy.deepcopy(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = template_hash
    selector = copy.deepcopy(dict(deploy.selector))
    selector.setdefault("matchLabels", {})[HASH_LABEL] = template_hash
    labels = dict(template["metadata"]["labels"])
    spec: dict = {"replicas": size, "selector": selector, "template": template}
    if deploy.spec.get("minReadySeconds"):
        spec["minReadySeconds"] = int(deploy.spec["minReadySeconds"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": deploy.namespace,
            "labels": labels,
            "annotations": {
                **copied_annotations(deploy),
                DESIRED_REPLICAS: str(deploy.replicas),
                MAX_REPLICAS: str(deploy.replicas + max_surge(deploy)),
                REVISION: str(revision),
            },
            "ownerReferences": [controller_ref(deploy)],
        },
        "spec": spec,
    }
