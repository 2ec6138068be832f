"""Volume set-up as kubelet's volume manager does it: a pod's sandbox waits until its volumes are mounted.

The desired-state populator adds every volume a container or init container
mounts (unused volumes are skipped). A persistentVolumeClaim volume whose
claim is missing, being deleted, not Bound or without a volumeName, or whose
PersistentVolume is missing, cannot be added: the populator records
`error processing PVC <ns>/<claim>: <why>` against the pod (getPVCExtractPV's
and getPVSpec's texts). The reconciler mounts the volumes it added; the SetUp
of a configMap, secret or projected volume fails while its object or an item's
key is missing — `configmap "x" not found` (the kubelet's object cache names
the resource in the singular), `secret "x" not found`, `configmap references
non-existent config key: k`, `references non-existent secret key: k`; a
projected volume's errors aggregated as utilerrors does, one as itself and
several as `[a, b]` — each failure a Warning FailedMount event
`MountVolume.SetUp failed for volume "<name>" : <error>` (the recorder counts
the repeats). `optional: true` sources mount without the object or key. The
operation executor retries a failed volume with exponential back-off
(nestedpendingoperations: 500ms, doubling, at most 2m2s), so a volume mounts
at the first retry after its object appears.

The pod worker's SyncPod waits in WaitForAttachAndMount before it creates the
sandbox, polling every 300ms for up to podAttachAndMountTimeout (2m3s). A
wait that times out records no event: since 1.28 kubelet.go drops
wait.Interrupted errors, and the timeout is one (`timed out waiting for the
condition` reaches only the log); the sync is retried after backOffPeriod
(10s; real kubelet adds up to 50% jitter, netsim does not). SyncPod asks the
populator to reprocess the pod, which its next 100ms loop does: the claims'
verdict is what the wait's second poll (300ms) sees. A populator error ends
the wait there with the Warning FailedMount event `Unable to attach or mount
volumes: unmounted volumes=[...], unattached volumes=[], failed to process
volumes=[...]: <errors, sorted, joined by "; ">` — an unprocessed volume was
never attached, so the middle list is empty — and the next sync reprocesses
the pod; otherwise the claims' volumes are mounted by that poll. The sandbox
comes at the first poll after the last volume mounted: at once for a pod
whose volumes need no look-up, 300ms later for one with claims. (A claim that
the scheduler's provisioning binds within the same instant is so seen bound.)

An attachable volume (controllers/attachdetach.py) mounts only once the
attach/detach controller lists it in the node's status.volumesAttached
(VerifyControllerAttachedVolume): until then the wait goes on, timing out
silently as above, and the volume mounts at the instant it is attached. The
kubelet reports the attachable volumes of its pods that have not finished in
status.volumesInUse, sorted (GetVolumesInUse), so the controller will not
detach them under it; netsim posts the list when it changes rather than at the
next 10s node status update.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.controllers.attachdetach import attached_volumes, pod_attachable_volumes
from netsim.kubelet.podenv import secret_data

COMPONENT = "kubelet"
INITIAL_BACKOFF = 0.5      # exponentialbackoff: initialDurationBeforeRetry
MAX_BACKOFF = 122.0        # exponentialbackoff: maxDurationBeforeRetry (2m2s)
MOUNT_TIMEOUT = 123.0      # volumemanager: podAttachAndMountTimeout (2m3s)
MOUNT_POLL = 0.3           # volumemanager: podAttachAndMountRetryInterval
SYNC_RETRY = 10.0          # kubelet.go backOffPeriod: the pod worker's requeue after a failed sync
# A claim is looked up by the populator's loop (every 100ms) after SyncPod asks it to reprocess the pod: its error,
# or its mounted volume, is what the wait's first poll after the immediate one (300ms) sees.
CLAIM_SEEN = MOUNT_POLL


def used_volumes(pod: Pod) -> list[str]:
    """The volumes a container or init container mounts (GetPodVolumeNames), in spec.volumes order."""
    names = set()
    for key in ("initContainers", "containers"):
        for c in pod.spec.get(key) or []:
            names.update(m.get("name") for m in c.get("volumeMounts") or [])
            names.update(d.get("name") for d in c.get("volumeDevices") or [])
    return [v.get("name") for v in pod.spec.get("volumes") or [] if v.get("name") in names]


def _aggregate(errors: list[str]) -> str | None:
    """utilerrors.NewAggregate(...).Error(): one message as itself, several (deduplicated) as `[a, b]`."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _configmap_error(store: Store, source: Mapping[str, Any], namespace: str) -> str | None:
    name = source.get("name", "")
    cm = store.try_get("ConfigMap", name, namespace)
    optional = bool(source.get("optional"))
    if cm is None:
        return None if optional else f'configmap "{name}" not found'
    keys = set(cm.get("data") or {}) | set(cm.get("binaryData") or {})
    for item in source.get("items") or []:
        if item.get("key") not in keys and not optional:
            return f"configmap references non-existent config key: {item.get('key')}"
    return None


def _secret_error(store: Store, source: Mapping[str, Any], namespace: str, name: str) -> str | None:
    secret = store.try_get("Secret", name, namespace)
    optional = bool(source.get("optional"))
    if secret is None:
        return None if optional else f'secret "{name}" not found'
    keys = set(secret_data(secret))
    for item in source.get("items") or []:
        if item.get("key") not in keys and not optional:
            return f"references non-existent secret key: {item.get('key')}"
    return None


def setup_error(store: Store, pod: Pod, volume: Mapping[str, Any]) -> str | None:
    """Why the volume plugin's SetUp of `volume` fails now (module docstring); None when it mounts."""
    ns = pod.namespace
    if "configMap" in volume:
        return _configmap_error(store, volume["configMap"] or {}, ns)
    if "secret" in volume:
        src = volume["secret"] or {}
        return _secret_error(store, src, ns, src.get("secretName", ""))
    if "projected" in volume:
        errors = []
        for source in (volume["projected"] or {}).get("sources") or []:
            if "configMap" in source:
                error = _configmap_error(store, source["configMap"] or {}, ns)
            elif "secret" in source:
                error = _secret_error(store, source["secret"] or {}, ns, (source["secret"] or {}).get("name", ""))
            else:
                error = None
            if error is not None:
                errors.append(error)
        return _aggregate(errors)
    return None


def claim_error(store: Store, pod: Pod, volume: Mapping[str, Any]) -> str | None:
    """The populator's error for a persistentVolumeClaim volume it cannot add (module docstring); None: added."""
    if "persistentVolumeClaim" not in volume:
        return None
    claim = (volume["persistentVolumeClaim"] or {}).get("claimName", "")
    pvc = store.try_get("PersistentVolumeClaim", claim, pod.namespace)
    if pvc is None:
        why = f'failed to fetch PVC from API server: persistentvolumeclaims "{claim}" not found'
    elif pvc.deletion_timestamp:
        why = "PVC is being deleted"
    elif (pvc.status or {}).get("phase") != "Bound":
        why = "PVC is not bound"
    elif not pvc.spec.get("volumeName"):
        why = "PVC has empty pvc.Spec.VolumeName"
    elif store.try_get("PersistentVolume", pvc.spec["volumeName"]) is None:
        pv = pvc.spec["volumeName"]
        why = f'failed to fetch PV {pv} from API server: persistentvolumes "{pv}" not found'
    else:
        return None
    return f"error processing PVC {pod.namespace}/{claim}: {why}"


@dataclass(slots=True)
class _Retry:
    """One volume's SetUp attempts: the next allowed try, the current back-off, failures so far, when it mounted."""

    next: float
    backoff: float = 0.0
    failures: int = 0
    mounted: float | None = None


@dataclass(frozen=True, slots=True)
class Mounting:
    """Where a pod's volumes stand: when the sandbox may start (inf: not yet known), the next change, the events."""

    ready: float
    due: float = math.inf
    events: tuple = ()


@dataclass(slots=True)
class VolumeGate:
    """Per pod: each volume's SetUp retries and the pod worker's syncs waiting for them, advanced lazily to now."""

    started: bool = False
    retries: dict = field(default_factory=dict)      # volume name -> _Retry (configMap, secret, projected)
    claims: list = field(default_factory=list)       # persistentVolumeClaim volume names
    sync: float | None = None                        # the next SyncPod not yet run
    window: float | None = None                      # the start of the WaitForAttachAndMount under way
    claim_check: float | None = None                 # when that wait sees the populator's verdict on the claims
    claims_mounted: float | None = None
    ready: float | None = None
    events: list = field(default_factory=list)
    syncs_failed: int = 0
    awaiting_attach: bool = False                    # the claims' volumes are processed but not yet attached

    def observe(self, store: Store, pod: Pod, admitted: float, now: float) -> Mounting:
        """Run every SetUp attempt and sync due by `now` (store as it is now); when the sandbox may start."""
        if self.ready is not None:
            return Mounting(self.ready, events=tuple(self.events))
        volumes = {v.get("name"): v for v in pod.spec.get("volumes") or []}
        if not self.started:
            self.started = True
            for name in used_volumes(pod):
                v = volumes[name]
                if "persistentVolumeClaim" in v:
                    self.claims.append(name)
                elif "configMap" in v or "secret" in v or "projected" in v:
                    self.retries[name] = _Retry(admitted)
            self.sync = admitted
        while self.ready is None:
            pending = [r for r in self.retries.values() if r.mounted is None]
            attempt = min((r.next for r in pending), default=math.inf)
            sync = self.sync if self.sync is not None else math.inf
            timeout = self.window + MOUNT_TIMEOUT if self.window is not None else math.inf
            check = self.claim_check if self.claim_check is not None else math.inf
            attach = now if self.awaiting_attach and not unattached(store, pod, self.claims) else math.inf
            t = min(attempt, sync, check, timeout, attach)
            if t > now:
                return Mounting(math.inf, t, tuple(self.events))
            if attempt == t:
                for name, r in self.retries.items():
                    if r.mounted is None and r.next == t:
                        self._attempt(store, pod, volumes[name], name, r, t)
                self._check_window()
            elif sync == t:
                self.sync, self.window = None, t
                if self.claims and self.claims_mounted is None:
                    self.claim_check = t + CLAIM_SEEN
                self._check_window()
            elif check == t:
                self._check_claims(store, pod, volumes, t)
            elif attach == t:
                self.awaiting_attach, self.claims_mounted = False, t
                self._check_window()
            else:
                self.window, self.sync = None, t + SYNC_RETRY
        return Mounting(self.ready, events=tuple(self.events))

    def _attempt(self, store: Store, pod: Pod, volume: Mapping[str, Any], name: str, r: _Retry, t: float) -> None:
        error = setup_error(store, pod, volume)
        if error is None:
            r.mounted = t
            return
        self.events.append((("failedmount", name, r.failures), "Warning", "FailedMount",
                            f'MountVolume.SetUp failed for volume "{name}" : {error}'))
        r.failures += 1
        r.backoff = INITIAL_BACKOFF if r.backoff == 0 else min(2 * r.backoff, MAX_BACKOFF)
        r.next = t + r.backoff

    def _mounted_at(self) -> float | None:
        times = [r.mounted for r in self.retries.values()]
        if self.claims:
            times.append(self.claims_mounted)
        return None if any(m is None for m in times) else max(times, default=-math.inf)

    def _check_window(self) -> None:
        """Inside a wait, the first poll after the last volume mounted lets the sync go on."""
        if self.window is None:
            return
        last = self._mounted_at()
        if last is None:
            return
        polls = math.ceil((last - self.window) / MOUNT_POLL - 1e-9) if last > self.window else 0
        self.ready = self.window + round(polls * MOUNT_POLL, 6)

    def _check_claims(self, store: Store, pod: Pod, volumes: dict, t: float) -> None:
        """The wait's poll after the populator ran: the claims' volumes mounted, or its errors end the wait."""
        self.claim_check = None
        errors = {name: e for name in self.claims if (e := claim_error(store, pod, volumes[name])) is not None}
        if not errors and unattached(store, pod, self.claims):
            self.awaiting_attach = True
            return
        if not errors:
            self.claims_mounted = t
            self._check_window()
            return
        unmounted = sorted([*errors, *(n for n, r in self.retries.items() if r.mounted is None)])
        message = (f"Unable to attach or mount volumes: unmounted volumes=[{' '.join(unmounted)}], unattached "
                   f"volumes=[], failed to process volumes=[{' '.join(sorted(errors))}]: "
                   + "; ".join(sorted(errors.values())))
        self.events.append((("mountwait", self.syncs_failed), "Warning", "FailedMount", message))
        self.syncs_failed += 1
        self.window, self.sync = None, t + SYNC_RETRY


def unattached(store: Store, pod: Pod, names: list[str]) -> list[str]:
    """The pod's volumes among `names` that need attaching and are not in its node's status.volumesAttached."""
    node = store.try_get("Node", pod.node_name or "")
    have = attached_volumes(node)
    return sorted(name for name, v in pod_attachable_volumes(store, pod, names).items() if v.unique_name not in have)


def report_volumes_in_use(store: Store, node_name: str) -> None:
    """Post status.volumesInUse: the attachable volumes of the node's pods that have not finished, sorted."""
    node = store.try_get("Node", node_name)
    if node is None:
        return
    names = sorted({v.unique_name for p in store.list("Pod", where=lambda p: p.node_name == node_name)
                    if p.phase not in ("Succeeded", "Failed")
                    for v in pod_attachable_volumes(store, p, used_volumes(p)).values()})  # type: ignore[arg-type]
    if list(node.status.get("volumesInUse") or []) == names:
        return

    def change(d: dict) -> None:
        if names:
            d.setdefault("status", {})["volumesInUse"] = names
        else:
            d.get("status", {}).pop("volumesInUse", None)

    store.update(node.evolve(change))
