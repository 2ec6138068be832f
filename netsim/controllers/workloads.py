"""Helpers the workload controllers share: pod-template-hash, controller refs, disruption, pod availability,
and pod creation as controller.PodControl does it (events, slow-start batches, the rate-limited retry).

A pod create the API server refuses (admission: a missing ServiceAccount or
PriorityClass, ...) does not raise out of the controller: it is a Warning
FailedCreate event on the owner (`Error creating: <the API error>`, none when
the namespace is terminating), and the owner's key is requeued with the
controller's rate limiter (`RetryQueue`: 5 ms doubling to 1000 s,
workqueue.DefaultControllerRateLimiter's per-item part; its 10 qps bucket is
not modelled). Until that retry falls due the controller does not try again,
so the event's count, not a flood of events, shows the repeats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from netsim.api.errors import Forbidden
from netsim.api.meta import NAME_SUFFIX_ALPHABET
from netsim.api.objects import Resource
from netsim.sim.clock import parse_rfc3339

RETRY_BASE = 0.005      # workqueue.DefaultControllerRateLimiter: 5 ms per item, doubling
RETRY_MAX = 1000.0      # ... at most 1000 s
SLOW_START_INITIAL_BATCH = 1     # controller.SlowStartInitialBatchSize


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash (Go's hash/fnv New32a)."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """apimachinery's rand.SafeEncodeString: each character mapped into the no-vowel alphabet."""
    return "".join(NAME_SUFFIX_ALPHABET[ord(ch) % len(NAME_SUFFIX_ALPHABET)] for ch in text)


def pod_template_hash(template: dict, collision_count: int = 0) -> str:
    """The pod-template-hash label value of a template (controller.ComputeHash).

    The encoding matches the controller's (FNV-1a, printed in decimal, safe-encoded);
    the bytes hashed are the template's canonical JSON rather than the Go struct dump
    the real controller hashes, so values differ from a real cluster's.
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))


def controller_ref(owner: Resource) -> dict:
    """An ownerReferences entry naming `owner` as the controller, as controllers write it."""
    return {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid,
            "controller": True, "blockOwnerDeletion": True}


def is_owned_by(obj: Resource, owner: Resource) -> bool:
    """True when `owner` is `obj`'s controller."""
    ref = obj.controller_ref
    return ref is not None and ref.uid == owner.uid


def add_disruption_target(store, pod: Resource, reason: str, message: str) -> None:
    """The DisruptionTarget condition a controller adds before deleting a pod (addConditionAndDeletePod)."""
    stamp = store.now()

    def change(d: dict) -> None:
        status = d.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "reason": reason, "message": message,
                           "lastProbeTime": None, "lastTransitionTime": stamp})
        status["conditions"] = conditions

    store.update(store.get("Pod", pod.name, pod.namespace).evolve(change))


def ready_since(pod: Resource) -> float | None:
    """When the pod's Ready condition last turned True (epoch seconds), or None when it is not Ready."""
    for cond in pod.status.get("conditions") or ():
        if cond.get("type") == "Ready":
            if cond.get("status") != "True":
                return None
            stamp = cond.get("lastTransitionTime")
            return parse_rfc3339(stamp) if stamp else 0.0
    return None


def available_at(pod: Resource, min_ready_seconds: int) -> float:
    """When the pod counts as available (podutil.IsPodAvailable): minReadySeconds after it became Ready; inf: not Ready.

    The controllers compare with `Before(now)` on nanosecond clocks; here a pod is
    available from that instant on, which differs only at the clock's resolution.
    """
    since = ready_since(pod)
    if since is None:
        return math.inf
    return since + min_ready_seconds if min_ready_seconds else -math.inf


def is_available(pod: Resource, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds at `now` (podutil.IsPodAvailable)."""
    return available_at(pod, min_ready_seconds) <= now


class RetryQueue:
    """The controllers' rate-limited requeue (workqueue ItemExponentialFailureRateLimiter), on the simulated clock.

    Keys are (controller, owner uid); a failed sync calls `failed`, which
    schedules the next try base * 2^failures later (at most `cap`), and a sync
    that succeeds calls `forget`, as processNextWorkItem does.
    """

    __slots__ = ("_failures", "_due")

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], int] = {}
        self._due: dict[tuple[str, str], float] = {}

    def waiting(self, key: tuple[str, str], now: float) -> float | None:
        """When the key's retry falls due, while it is still ahead of `now`; else None (the sync may try)."""
        due = self._due.get(key)
        return due if due is not None and now < due else None

    def failed(self, key: tuple[str, str], now: float, base: float = RETRY_BASE, cap: float = RETRY_MAX) -> float:
        """AddRateLimited: one more failure; returns when the key is retried."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        due = now + min(base * 2 ** failures, cap)
        self._due[key] = due
        return due

    def done(self, key: tuple[str, str], now: float, failed: bool, waiting: float | None,
             base: float = RETRY_BASE, cap: float = RETRY_MAX) -> float:
        """The end of one sync (processNextWorkItem): a failure backs off, a sync that was held waits for its
        retry, a success forgets the key; returns when the key next needs a sync (inf: not on its account)."""
        if failed:
            return self.failed(key, now, base, cap)
        if waiting is not None:
            return waiting
        self.forget(key)
        return math.inf

    def forget(self, key: tuple[str, str]) -> None:
        """Forget: the sync succeeded, the back-off starts again from the base."""
        self._failures.pop(key, None)
        self._due.pop(key, None)

    def failures(self, key: tuple[str, str]) -> int:
        """How many failed syncs in a row the key has had."""
        return self._failures.get(key, 0)


def namespace_terminating(store, namespace: str) -> bool:
    """The namespace is being deleted (the refusal carries NamespaceTerminatingCause)."""
    home = store.try_get("Namespace", namespace)
    return home is not None and home.deletion_timestamp is not None


def create_pod(store, owner: Resource, pod: dict, component: str) -> Resource | Forbidden:
    """RealPodControl.CreatePods: the pod and a SuccessfulCreate event, or the API's refusal and FailedCreate.

    No event when the namespace is terminating, as createPods skips it.
    """
    try:
        created = store.create(pod)
    except Forbidden as refusal:
        if not namespace_terminating(store, owner.namespace):
            store.record_event(owner, "Warning", "FailedCreate", f"Error creating: {refusal}", component)
        return refusal
    store.record_event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created.name}", component)
    return created


def slow_start_batch(count: int, create: Callable[[], Forbidden | None]) -> tuple[int, Forbidden | None]:
    """controller.slowStartBatch: batches of 1, 2, 4, ... creates; stop after the first batch with an error.

    Returns (successes, the first error or None). Every call in a batch is made
    (the real ones run in parallel), none after it.
    """
    successes, remaining, batch = 0, count, min(count, SLOW_START_INITIAL_BATCH)
    while batch > 0:
        errors = [e for e in (create() for _ in range(batch)) if e is not None]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
