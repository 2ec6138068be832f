"""The namespace controller: a terminating namespace's content, its status conditions, and its end.

As kube-controller-manager's namespace controller (pkg/controller/namespace/deletion:
namespaced_resources_deleter.go deleteAllContent, status_condition_utils.go):
every pass over a namespace with a deletionTimestamp deletes the content not yet
marked, counts what remains per resource and per finalizer, and writes the five
deletion conditions — True with the failure's reason and message, else False
with the "ok" reason — changing lastTransitionTime only when a status flips.
Once nothing is left, the `kubernetes` spec finalizer is removed (the finalize
subresource) and the namespace goes. The store's delete of a namespace makes
the first pass itself (netsim.api.store); this controller finishes what
finalizers held up, e.g. a claim kept by `kubernetes.io/pvc-protection` until
its pod is gone, or one whose finalizer someone patches away.
"""

from __future__ import annotations

from collections import Counter

from netsim.api.kinds import kind_info
from netsim.api.objects import Resource
from netsim.api.store import NAMESPACE_FINALIZER, Store

# type -> (reason, message) when nothing is wrong (okReasons, okMessages), in conditionTypes order.
OK_CONDITIONS: dict[str, tuple[str, str]] = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


def reconcile(store: Store) -> None:
    """One pass over every terminating namespace."""
    for namespace in store.list("Namespace"):
        if namespace.deletion_timestamp:
            _sync(store, namespace.name)


def content(store: Store, namespace: str) -> list[Resource]:
    """Every object still in the namespace, sorted by kind, then name."""
    return [obj for kind in store.kinds() if kind_info(kind).namespaced for obj in store.list(kind, namespace)]


def deletion_failures(remaining: list[Resource], namespace: str) -> dict[str, tuple[str, str]]:
    """The failing conditions for what remains: type -> (reason, message), worded as ProcessContentTotals."""
    by_resource: Counter[str] = Counter()
    by_finalizer: Counter[str] = Counter()
    unexpected: set[str] = set()
    held: set[str] = set()
    for obj in remaining:
        info = obj.info
        by_resource[f"{info.plural}.{info.group}"] += 1
        by_finalizer.update(obj.finalizers)
        gvr = f"{info.group}/{info.api_version.rpartition('/')[2]}, Resource={info.plural}"
        if obj.finalizers or obj.metadata.get("deletionGracePeriodSeconds"):
            held.add(gvr)   # a finalizer, or a pod's grace period: an estimate, not an error
        else:
            unexpected.add(gvr)
    failures: dict[str, tuple[str, str]] = {}
    errors = sorted(f"unexpected items still remain in namespace: {namespace} for gvr: {gvr}"
                    for gvr in unexpected - held)
    if errors:
        failures["NamespaceDeletionContentFailure"] = (
            "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(errors)} remaining: {', '.join(errors)}")
    if by_resource:
        parts = sorted(f"{resource} has {n} resource instances" for resource, n in by_resource.items())
        failures["NamespaceContentRemaining"] = ("SomeResourcesRemain",
                                                 f"Some resources are remaining: {', '.join(parts)}")
    if by_finalizer:
        parts = sorted(f"{finalizer} in {n} resource instances" for finalizer, n in by_finalizer.items())
        failures["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain", f"Some content in the namespace has finalizers remaining: {', '.join(parts)}")
    return failures


def updated_conditions(old: list[dict], failures: dict[str, tuple[str, str]], now: str) -> list[dict]:
    """status.conditions after one pass (updateConditions): the five types, lastTransitionTime moved on a flip only."""
    out = [dict(c) for c in old]
    for type_, ok in OK_CONDITIONS.items():
        status = "True" if type_ in failures else "False"
        reason, message = failures.get(type_, ok)
        current = next((c for c in out if c.get("type") == type_), None)
        if current is None:
            out.append({"type": type_, "status": status, "lastTransitionTime": now, "reason": reason,
                        "message": message})
        elif (current.get("status"), current.get("reason"), current.get("message")) != (status, reason, message):
            if current.get("status") != status:
                current["lastTransitionTime"] = now
            current.update(status=status, reason=reason, message=message)
    return out


def _sync(store: Store, name: str) -> None:
    for obj in content(store, name):
        if not obj.deletion_timestamp and store.try_get(obj.kind, obj.name, obj.namespace) is not None:
            store.delete(obj.kind, obj.name, obj.namespace)
    remaining = content(store, name)
    namespace = store.get("Namespace", name)
    conditions = updated_conditions(list(namespace.status.get("conditions") or ()),
                                    deletion_failures(remaining, name), store.now())
    if conditions != list(namespace.status.get("conditions") or ()):
        namespace = store.update(namespace.evolve(lambda d: d.setdefault("status", {}).__setitem__(
            "conditions", conditions)))
    if namespace is None:
        return
    if not remaining and NAMESPACE_FINALIZER in (namespace.spec.get("finalizers") or ()):
        store.finalize_namespace(name)

