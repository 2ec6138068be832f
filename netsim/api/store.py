"""An in-memory API server: create, get, list, update, patch, delete, watch.

It keeps what kube-apiserver keeps for every object: uid, resourceVersion (one
counter for the whole store), creationTimestamp, generation (bumped when
anything but metadata and status changes), and it honours ownerReferences
(cascading deletion: Background, Foreground, Orphan), finalizers (a delete
only marks the object with a deletionTimestamp; removing the last finalizer
removes it) and graceful deletion of pods bound to a node. Namespaces come
with the four of every kubeadm cluster. Time and randomness are handed in:
`clock()` gives simulated seconds, `rng` is a seeded numpy Generator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from netsim.api.defaults import apply_defaults
from netsim.api.errors import AlreadyExists, Conflict, FieldError, Forbidden, NotFound
from netsim.api.kinds import kind_info
from netsim.api.meta import MAX_GENERATED_NAME_BASE, ObjectKey, format_time, new_uid, random_suffix
from netsim.api.objects import Event, Resource, make_object
from netsim.api.patches import merge_patch
from netsim.api.validate import validate, validate_update

DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

# Kinds whose registry strategy keeps metadata.generation (spec changes bump it).
GENERATION_KINDS = frozenset({
    "CronJob", "DaemonSet", "Deployment", "Gateway", "GatewayClass", "HTTPRoute", "Ingress", "Job",
    "NetworkPolicy", "PodDisruptionBudget", "ReplicaSet", "StatefulSet", "TCPRoute", "UDPRoute",
})

# Finalizers the garbage collector itself owns (metav1.FinalizerOrphanDependents, FinalizerDeleteDependents).
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"   # the namespace controller's spec finalizer (v1.FinalizerKubernetes)

Admission = Callable[["Store", dict], None]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change as a watch delivers it: ADDED, MODIFIED or DELETED, the object, the store's resourceVersion."""

    type: str
    obj: Resource
    resource_version: int


class Store:
    """The cluster's API state; every change goes through its methods and is seen by watchers."""

    def __init__(self, *, clock: Callable[[], float], rng: Any, admission: tuple[Admission, ...] = (),
                 event_rng: Any = None) -> None:
        self._clock = clock
        self._rng = rng
        self._event_rng = event_rng if event_rng is not None else rng   # Events' uids: their own stream
        self._admission = list(admission)
        self._objects: dict[ObjectKey, Resource] = {}
        self._by_kind: dict[str, dict[ObjectKey, Resource]] = {}   # the same objects, per kind (list's index)
        self._uids: dict[str, ObjectKey] = {}
        self._owned: dict[str, set[ObjectKey]] = {}   # owner uid -> keys of objects naming it (the GC's graph)
        self._event_keys: dict[tuple, ObjectKey] = {}   # (ns, uid, reason, message, component) -> the Event
        self._rv = 0
        self._history: list[WatchEvent] = []
        self._watchers: list[Callable[[WatchEvent], None]] = []
        for name in DEFAULT_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # reading ----------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        """The store's current resourceVersion (the last change's)."""
        return self._rv

    def now(self) -> str:
        """The simulated time as metadata timestamps show it."""
        return format_time(self._clock())

    def clock(self) -> float:
        """The simulated time in epoch seconds."""
        return self._clock()

    def get(self, kind: str, name: str, namespace: str = "") -> Resource:
        """The object, or NotFound worded as the API server words it."""
        obj = self.try_get(kind, name, namespace)
        if obj is None:
            raise NotFound(f'{kind_info(kind).resource} "{name}" not found')
        return obj

    def try_get(self, kind: str, name: str, namespace: str = "") -> Resource | None:
        """The object, or None."""
        ns = namespace if kind_info(kind).namespaced else ""
        return self._objects.get(ObjectKey(kind, ns, name))

    def list(self, kind: str, namespace: str | None = None,
             where: Callable[[Resource], bool] | None = None) -> list[Resource]:
        """Objects of a kind (in one namespace, or all when None), sorted by namespace and name."""
        out = [
            obj for key, obj in self._by_kind.get(kind, {}).items()
            if (namespace is None or key.namespace == namespace) and (where is None or where(obj))
        ]
        out.sort(key=lambda o: (o.namespace, o.name))
        return out

    def kinds(self) -> list[str]:
        """The kinds that have at least one object, sorted."""
        return sorted(kind for kind, objects in self._by_kind.items() if objects)

    def dependents(self, owner: Resource) -> list[Resource]:
        """Objects listing `owner` (by uid) in their ownerReferences, sorted by key."""
        found = (self._objects.get(key) for key in self._owned.get(owner.uid, ()))
        return sorted((o for o in found if o is not None and any(r.uid == owner.uid for r in o.owner_references)),
                      key=lambda o: o.key)

    # writing ----------------------------------------------------------------
    def create(self, obj: Resource | Mapping[str, Any], *, restore: bool = False) -> Resource:
        """Create an object: validate, default, admit, stamp metadata; AlreadyExists/NotFound as the API does.

        With `restore`, an object that already carries a uid and creationTimestamp
        (a dump of a real cluster) keeps them, as a restore from a backup would, so
        the ownerReferences between dumped objects still hold.
        """
        data = obj.to_dict() if isinstance(obj, Resource) else copy.deepcopy(dict(obj))
        validate(data)
        info = kind_info(data["kind"])
        meta = data["metadata"]
        if info.namespaced:
            ns = meta.setdefault("namespace", "default")
            namespace = self.try_get("Namespace", ns)
            if namespace is None:
                raise NotFound(f'namespaces "{ns}" not found')
            if namespace.deletion_timestamp:
                raise Forbidden(f'{info.resource} "{meta.get("name") or meta.get("generateName", "")}" is '
                                f'forbidden: unable to create new content in namespace {ns} because it is being '
                                f'terminated')
        if meta.get("name") and ObjectKey(info.kind, meta.get("namespace", ""), meta["name"]) in self._objects:
            raise AlreadyExists(f'{info.resource} "{meta["name"]}" already exists')
        apply_defaults(data)
        for admit in self._admission:   # before the name is generated: a refusal names the generateName prefix
            admit(self, data)
        if not meta.get("name"):
            meta["name"] = self._generated_name(meta["generateName"], info.kind, meta.get("namespace", ""))
        key = ObjectKey(info.kind, meta.get("namespace", ""), meta["name"])
        kept = {k: meta[k] for k in ("uid", "creationTimestamp", "generation") if restore and meta.get(k)}
        for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            meta.pop(field, None)
        meta["uid"] = kept.get("uid") or new_uid(self._event_rng if info.kind == "Event" else self._rng)
        meta["creationTimestamp"] = kept.get("creationTimestamp") or self.now()
        if info.kind in GENERATION_KINDS:
            meta["generation"] = kept.get("generation", 1)
        return self._put(key, data, "ADDED")

    def update(self, obj: Resource) -> Resource:
        """Replace an object; a stale resourceVersion is a Conflict; generation follows spec changes."""
        current = self.get(obj.kind, obj.name, obj.namespace)
        if obj.resource_version and obj.resource_version != current.resource_version:
            raise Conflict(
                f'Operation cannot be fulfilled on {current.info.resource} "{obj.name}": the object has been '
                f"modified; please apply your changes to the latest version and try again"
            )
        data = obj.to_dict()
        validate(data)
        apply_defaults(data)   # the API server defaults every write, not only creates
        validate_update(current.to_dict(), data)
        for admit in self._admission:   # plugins that also handle updates (admission.NewHandler(..., Update))
            if hasattr(admit, "admit_update"):
                admit.admit_update(self, current.to_dict(), data)
        meta = data["metadata"]
        for field in ("uid", "creationTimestamp"):
            meta[field] = current.metadata[field]
        if current.deletion_timestamp:
            meta["deletionTimestamp"] = current.deletion_timestamp
            if "deletionGracePeriodSeconds" in current.metadata:
                meta["deletionGracePeriodSeconds"] = current.metadata["deletionGracePeriodSeconds"]
        else:
            meta.pop("deletionTimestamp", None)
            meta.pop("deletionGracePeriodSeconds", None)
        if current.kind in GENERATION_KINDS:
            meta["generation"] = current.generation + (1 if _spec_changed(current.to_dict(), data) else 0)
        if current.deletion_timestamp and not meta.get("finalizers") and not _graceful_pending(data) \
                and not _namespace_pending(data):
            return self._remove(current.key)
        meta["resourceVersion"] = current.resource_version
        if data == current.to_dict():
            return current  # a no-op update writes nothing, as the API server skips it
        return self._put(current.key, data, "MODIFIED")

    def patch(self, kind: str, name: str, namespace: str, patch: Mapping[str, Any]) -> Resource:
        """Apply a JSON merge patch (RFC 7386) to the current object and update it."""
        current = self.get(kind, name, namespace)
        data = merge_patch(current.to_dict(), patch)
        data["metadata"]["resourceVersion"] = current.resource_version
        return self.update(make_object(data))

    def delete(self, kind: str, name: str, namespace: str = "", *, propagation: str = "Background",
               grace_period: int | None = None) -> Resource | None:
        """Delete as the API server does; returns the object still present (marked), or None once removed.

        With finalizers the object is only marked (deletionTimestamp). Pods bound to
        a node are deleted gracefully: marked with the grace period, removed when the
        kubelet (or a delete with grace 0) finishes. `propagation` decides dependents.
        """
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise FieldError(f'must be one of Background, Foreground, Orphan; got "{propagation}"', "propagationPolicy")
        current = self.get(kind, name, namespace)
        if kind == "Namespace":
            return self._delete_namespace(current)
        data = current.to_dict()
        meta = data["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Orphan":
            self._orphan_dependents(current)
        elif propagation == "Foreground" and self.dependents(current) and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        grace = _pod_grace(data, grace_period)
        if not finalizers and not grace:
            removed = self._remove(current.key)
            return removed
        if current.deletion_timestamp is None:
            meta["deletionTimestamp"] = format_time(self._clock() + (grace or 0))
            meta["deletionGracePeriodSeconds"] = grace or 0
        elif grace == 0:
            meta["deletionGracePeriodSeconds"] = 0
        if finalizers:
            meta["finalizers"] = finalizers
        marked = self._put(current.key, data, "MODIFIED")
        if FOREGROUND in finalizers:
            for dependent in self.dependents(marked):
                if not dependent.deletion_timestamp:
                    self.delete(dependent.kind, dependent.name, dependent.namespace, propagation="Foreground")
            return self._finish_foreground(marked.key)
        if not finalizers and grace == 0:
            return self._remove(current.key)
        return marked

    def record_event(self, involved: Resource, type_: str, reason: str, message: str,
                     component: str, host: str = "") -> Event | None:
        """Record an Event about `involved`; a repeat of the same one bumps its count, as the recorder does.

        None when the event's namespace is terminating: the API server refuses new content there.
        """
        ns = involved.namespace or "default"
        identity = (ns, involved.uid, reason, message, component)
        old = self._objects.get(self._event_keys.get(identity))  # type: ignore[arg-type]
        if old is not None and (old.involved_object.get("uid"), old.reason, old.message,
                                old.get("source.component")) == identity[1:]:
            def bump(d: dict) -> None:
                d["count"] = d.get("count", 1) + 1
                d["lastTimestamp"] = self.now()
            return self._put(old.key, old.evolve(bump).to_dict(), "MODIFIED")  # type: ignore[return-value]
        home = self.try_get("Namespace", ns)
        if home is not None and home.deletion_timestamp:
            return None   # NamespaceLifecycle refuses the create; the recorder drops it ("will not retry")
        stamp = self.now()
        involved_ref = {"apiVersion": involved.api_version, "kind": involved.kind, "name": involved.name,
                        "uid": involved.uid, "resourceVersion": involved.resource_version}
        if involved.namespace:
            involved_ref["namespace"] = involved.namespace
        source = {"component": component, **({"host": host} if host else {})}
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{involved.name}.{int(self._clock() * 1e9) + self._rv:x}", "namespace": ns},
            "involvedObject": involved_ref, "reason": reason, "message": message, "type": type_,
            "source": source, "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp,
            "reportingComponent": component, "reportingInstance": host,
        }
        created = self.create(event)
        self._event_keys[identity] = created.key
        return created  # type: ignore[return-value]

    # watching ---------------------------------------------------------------
    def watch(self, callback: Callable[[WatchEvent], None]) -> Callable[[], None]:
        """Call `callback` for every change from now on; returns a function that stops it."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback)

    def changes_since(self, resource_version: int) -> list[WatchEvent]:
        """Every change after `resource_version`, in order (a watch resumed from that version)."""
        return [e for e in self._history if e.resource_version > resource_version]

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """All or nothing: if the block raises, the store (and its generator) is as it was before."""
        saved = (dict(self._objects), self._rv, len(self._history), copy.deepcopy(self._rng.bit_generator.state),
                 copy.deepcopy(self._event_rng.bit_generator.state))
        try:
            yield self
        except BaseException:
            self._objects, self._rv = saved[0], saved[1]
            self._reindex()
            del self._history[saved[2]:]
            self._rng.bit_generator.state = saved[3]
            self._event_rng.bit_generator.state = saved[4]
            raise

    # internals --------------------------------------------------------------
    def _put(self, key: ObjectKey, data: dict, change: str) -> Resource:
        self._rv += 1
        data["metadata"]["resourceVersion"] = str(self._rv)
        obj = make_object(data)
        self._unlink_owners(key)
        self._objects[key] = obj
        self._by_kind.setdefault(key.kind, {})[key] = obj
        self._uids[obj.uid] = key
        for ref in obj.owner_references:
            self._owned.setdefault(ref.uid, set()).add(key)
        self._notify(WatchEvent(change, obj, self._rv))
        return obj

    def _remove(self, key: ObjectKey) -> None:
        self._unlink_owners(key)
        obj = self._objects.pop(key)
        del self._by_kind[key.kind][key]
        self._uids.pop(obj.uid, None)
        self._rv += 1
        self._notify(WatchEvent("DELETED", obj, self._rv))
        self._collect_dependents(obj)
        for owner_ref in obj.owner_references:
            owner = self._by_uid(owner_ref.uid)
            if owner is not None and FOREGROUND in owner.finalizers:
                self._finish_foreground(owner.key)
        return None

    def _notify(self, event: WatchEvent) -> None:
        self._history.append(event)
        for callback in list(self._watchers):
            callback(event)

    def _by_uid(self, uid: str) -> Resource | None:
        obj = self._objects.get(self._uids.get(uid))  # type: ignore[arg-type]
        return obj if obj is not None and obj.uid == uid else None

    def _unlink_owners(self, key: ObjectKey) -> None:
        old = self._objects.get(key)
        for ref in old.owner_references if old is not None else ():
            self._owned.get(ref.uid, set()).discard(key)

    def _reindex(self) -> None:
        """Rebuild the per-kind, uid and owner indexes from the objects (after a rollback)."""
        self._by_kind, self._uids, self._owned = {}, {}, {}
        for key, obj in self._objects.items():
            self._by_kind.setdefault(key.kind, {})[key] = obj
            self._uids[obj.uid] = key
            for ref in obj.owner_references:
                self._owned.setdefault(ref.uid, set()).add(key)

    def _collect_dependents(self, owner: Resource) -> None:
        """The garbage collector's background pass: dependents with no owner left go too."""
        for dependent in self.dependents(owner):
            if dependent.key not in self._objects:
                continue
            alive = [r for r in dependent.owner_references if r.uid != owner.uid and self._by_uid(r.uid)]
            if not alive and not dependent.deletion_timestamp:
                self.delete(dependent.kind, dependent.name, dependent.namespace)

    def _orphan_dependents(self, owner: Resource) -> None:
        for dependent in self.dependents(owner):
            def drop(d: dict) -> None:
                refs = [r for r in d["metadata"].get("ownerReferences", []) if r.get("uid") != owner.uid]
                if refs:
                    d["metadata"]["ownerReferences"] = refs
                else:
                    d["metadata"].pop("ownerReferences", None)
            self._put(dependent.key, dependent.evolve(drop).to_dict(), "MODIFIED")

    def _finish_foreground(self, key: ObjectKey) -> Resource | None:
        """Remove the foregroundDeletion finalizer once no blocking dependent is left."""
        owner = self._objects.get(key)
        if owner is None or FOREGROUND not in owner.finalizers:
            return owner
        if any(r.block_owner_deletion for d in self.dependents(owner) for r in d.owner_references if r.uid == owner.uid):
            return owner
        finalizers = [f for f in owner.finalizers if f != FOREGROUND]
        if not finalizers and not _graceful_pending(owner.to_dict()):
            return self._remove(key)
        return self._put(key, owner.evolve(lambda d: d["metadata"].__setitem__("finalizers", finalizers)).to_dict(),
                         "MODIFIED")

    def _delete_namespace(self, namespace: Resource) -> Resource | None:
        """Mark the namespace Terminating and make the namespace controller's first pass over its content.

        Every object in it is deleted; once none is left the `kubernetes` spec finalizer
        is removed (the finalize subresource) and the namespace goes, unless metadata
        finalizers hold it. What stays (objects with finalizers) is the namespace
        controller's to watch: netsim.controllers.namespace writes the status
        conditions and finishes the deletion when the last object goes.
        """
        name = namespace.name
        def terminating(d: dict) -> None:
            d["metadata"].setdefault("deletionTimestamp", self.now())
            d["metadata"]["deletionGracePeriodSeconds"] = 0
            d.setdefault("status", {})["phase"] = "Terminating"
        marked = self._put(namespace.key, namespace.evolve(terminating).to_dict(), "MODIFIED")
        for key in sorted(k for k in self._objects if k.namespace == name):
            if key in self._objects:
                self.delete(key.kind, key.name, key.namespace)   # pods keep their grace period
        if any(k.namespace == name for k in self._objects):
            return marked
        return self.finalize_namespace(name)

    def finalize_namespace(self, name: str) -> Resource | None:
        """The namespace's finalize subresource: drop the `kubernetes` spec finalizer; gone when nothing holds it."""
        current = self.get("Namespace", name)
        kept = [f for f in (current.spec.get("finalizers") or ()) if f != NAMESPACE_FINALIZER]
        return self.update(current.evolve(lambda d: d.setdefault("spec", {}).__setitem__("finalizers", kept)))

    def _generated_name(self, prefix: str, kind: str, namespace: str) -> str:
        for _ in range(8):
            name = prefix[:MAX_GENERATED_NAME_BASE] + random_suffix(self._rng)
            if ObjectKey(kind, namespace, name) not in self._objects:
                return name
        raise AlreadyExists(f'{kind_info(kind).resource} "{prefix}" could not get a unique generated name')


def _spec_changed(old: dict, new: dict) -> bool:
    strip = lambda d: {k: v for k, v in d.items() if k not in ("metadata", "status")}  # noqa: E731
    return strip(old) != strip(new)


def _pod_grace(data: dict, grace_period: int | None) -> int | None:
    """The grace period a delete of this object waits for (pods bound to a node only), else None."""
    if data["kind"] != "Pod" or not (data.get("spec") or {}).get("nodeName"):
        return None
    if (data.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return None
    if grace_period is not None:
        return grace_period
    return int(data["spec"].get("terminationGracePeriodSeconds", 30))


def _namespace_pending(data: dict) -> bool:
    """True while a terminating namespace still has spec.finalizers (the namespace controller's `kubernetes`)."""
    return data["kind"] == "Namespace" and bool((data.get("spec") or {}).get("finalizers"))


def _graceful_pending(data: dict) -> bool:
    """True while a pod's graceful deletion waits for the kubelet (grace period not yet zeroed)."""
    return data["kind"] == "Pod" and bool(data["metadata"].get("deletionGracePeriodSeconds"))
