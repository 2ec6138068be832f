"""`kubectl describe` for Deployments, ReplicaSets, StatefulSets and DaemonSets.

As describe.go's describeDeployment (replica counts, strategy, the pod
template, conditions, OldReplicaSets/NewReplicaSet as deploymentutil finds
them), describeReplicaSet, describeStatefulSet (with Volume Claims) and
describeDaemonSet; `Pods Status` counts the pods the object controls by phase
(getPodStatusForController).
"""

from __future__ import annotations

from netsim.api.quantity import Quantity
from netsim.api.selector import LabelSelector
from netsim.cli.describe import text as t
from netsim.cli.describe.pod import pod_template, selector_text
from netsim.cli.describe.storage import format_labels
from netsim.controllers.deployment import find_new_replicaset


def _selector(obj) -> str:
    """LabelSelectorAsSelector(...).String(): empty for an empty selector."""
    return str(LabelSelector.from_dict(dict(obj.spec.get("selector") or {})))


def pods_status(store, owner) -> str:
    """getPodStatusForController: the selected pods `owner` controls, counted by phase."""
    selector = LabelSelector.from_dict(dict(owner.spec.get("selector") or {}))
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for pod in store.list("Pod", owner.namespace, lambda p: selector.matches(p.labels)):
        ref = pod.controller_ref
        if ref is not None and ref.uid == owner.uid and pod.status.get("phase") in counts:
            counts[pod.status["phase"]] += 1
    return (f"{counts['Running']} Running / {counts['Pending']} Waiting / {counts['Succeeded']} Succeeded / "
            f"{counts['Failed']} Failed")


def _conditions(obj) -> list[str]:
    conditions = obj.status.get("conditions") or []
    if not conditions:
        return []
    return (["Conditions:", "  Type\tStatus\tReason", "  ----\t------\t------"]
            + [f"  {c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}" for c in conditions])


def describe_deployment(store, deploy, now: float) -> str:
    """The text `kubectl describe deployment NAME` prints."""
    spec, status = deploy.spec, deploy.status
    lines = [f"Name:\t{deploy.name}", f"Namespace:\t{deploy.namespace}",
             f"CreationTimestamp:\t{t.rfc1123(deploy.creation_timestamp)}"]
    lines += t.labels("Labels", deploy.labels)
    lines += t.annotations("Annotations", deploy.annotations)
    lines.append(f"Selector:\t{_selector(deploy)}")
    lines.append(f"Replicas:\t{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', 0)} updated | "
                 f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
                 f"{status.get('unavailableReplicas', 0)} unavailable")
    strategy = spec.get("strategy") or {}
    lines.append(f"StrategyType:\t{strategy.get('type', '')}")
    lines.append(f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}")
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        lines.append(f"RollingUpdateStrategy:\t{rolling.get('maxUnavailable', 0)} max unavailable, "
                     f"{rolling.get('maxSurge', 0)} max surge")
    lines += pod_template(spec.get("template"))
    lines += _conditions(deploy)
    selector = LabelSelector.from_dict(dict(spec.get("selector") or {}))
    owned = [rs for rs in store.list("ReplicaSet", deploy.namespace, lambda r: selector.matches(r.labels))
             if rs.controller_ref is not None and rs.controller_ref.uid == deploy.uid]
    new = find_new_replicaset(dict(spec.get("template") or {}), owned)
    old = [rs for rs in owned if new is None or rs.uid != new.uid]
    if old or new is not None:
        lines.append(f"OldReplicaSets:\t{_replica_sets(old)}")
        lines.append(f"NewReplicaSet:\t{_replica_sets([new] if new is not None else [])}")
    lines += t.events(t.events_about(store, deploy), now)
    return t.render(lines)


def _replica_sets(items: list) -> str:
    """printReplicaSetsByLabels: `name (current/desired replicas created)`, comma-joined; <none> when empty."""
    return ", ".join(f"{rs.name} ({rs.status.get('replicas', 0)}/{rs.spec.get('replicas', 1)} replicas created)"
                     for rs in items) or "<none>"


def describe_replicaset(store, rs, now: float) -> str:
    """The text `kubectl describe replicaset NAME` prints."""
    lines = [f"Name:\t{rs.name}", f"Namespace:\t{rs.namespace}", f"Selector:\t{selector_text(rs.spec.get('selector'))}"]
    lines += t.labels("Labels", rs.labels)
    lines += t.annotations("Annotations", rs.annotations)
    if rs.controller_ref is not None:
        lines.append(f"Controlled By:\t{rs.controller_ref.kind}/{rs.controller_ref.name}")
    lines.append(f"Replicas:\t{rs.status.get('replicas', 0)} current / {rs.spec.get('replicas', 1)} desired")
    lines.append(f"Pods Status:\t{pods_status(store, rs)}")
    lines += pod_template(rs.spec.get("template"))
    lines += _conditions(rs)
    lines += t.events(t.events_about(store, rs), now)
    return t.render(lines)


def describe_statefulset(store, sts, now: float) -> str:
    """The text `kubectl describe statefulset NAME` prints."""
    spec = sts.spec
    lines = [f"Name:\t{sts.name}", f"Namespace:\t{sts.namespace}",
             f"CreationTimestamp:\t{t.rfc1123(sts.creation_timestamp)}", f"Selector:\t{_selector(sts)}"]
    lines += t.labels("Labels", sts.labels)
    lines += t.annotations("Annotations", sts.annotations)
    lines.append(f"Replicas:\t{spec.get('replicas', 1)} desired | {sts.status.get('replicas', 0)} total")
    strategy = spec.get("updateStrategy") or {}
    lines.append(f"Update Strategy:\t{strategy.get('type', '')}")
    rolling = strategy.get("rollingUpdate")
    if rolling is not None and rolling.get("partition") is not None:
        lines.append(f"  Partition:\t{rolling['partition']}")
        if rolling.get("maxUnavailable") is not None:
            lines.append(f"  MaxUnavailable:\t{rolling['maxUnavailable']}")
    lines.append(f"Pods Status:\t{pods_status(store, sts)}")
    lines += pod_template(spec.get("template"))
    lines += _claim_templates(spec.get("volumeClaimTemplates") or [])
    lines += t.events(t.events_about(store, sts), now)
    return t.render(lines)


def _claim_templates(templates: list) -> list[str]:
    """describeVolumeClaimTemplates."""
    if not templates:
        return ["Volume Claims:\t<none>"]
    lines = ["Volume Claims:"]
    for pvc in templates:
        meta, spec = pvc.get("metadata") or {}, pvc.get("spec") or {}
        beta = (meta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
        lines += [f"  Name:\t{meta.get('name', '')}",
                  f"  StorageClass:\t{beta if beta is not None else spec.get('storageClassName') or ''}"]
        lines += t.labels("Labels", meta.get("labels"), indent="  ")
        lines += t.labels("Annotations", meta.get("annotations"), indent="  ")
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        lines.append(f"  Capacity:\t{Quantity.parse(storage) if storage is not None else '<default>'}")
        lines.append(f"  Access Modes:\t{t.go_list(spec.get('accessModes') or [])}")
    return lines


def describe_daemonset(store, ds, now: float) -> str:
    """The text `kubectl describe daemonset NAME` prints."""
    status = ds.status
    template_spec = (ds.spec.get("template") or {}).get("spec") or {}
    lines = [f"Name:\t{ds.name}", f"Namespace:\t{ds.namespace}", f"Selector:\t{_selector(ds)}",
             f"Node-Selector:\t{format_labels(template_spec.get('nodeSelector'))}"]
    lines += t.labels("Labels", ds.labels)
    lines += t.annotations("Annotations", ds.annotations)
    lines += [f"Desired Number of Nodes Scheduled: {status.get('desiredNumberScheduled', 0)}",
              f"Current Number of Nodes Scheduled: {status.get('currentNumberScheduled', 0)}",
              f"Number of Nodes Scheduled with Up-to-date Pods: {status.get('updatedNumberScheduled', 0)}",
              f"Number of Nodes Scheduled with Available Pods: {status.get('numberAvailable', 0)}",
              f"Number of Nodes Misscheduled: {status.get('numberMisscheduled', 0)}",
              f"Pods Status:\t{pods_status(store, ds)}"]
    lines += pod_template(ds.spec.get("template"))
    lines += t.events(t.events_about(store, ds), now)
    return t.render(lines)
