"""Helpers the workload controllers share: pod-template-hash, controller refs, disruption, pod availability."""

from __future__ import annotations

import json
import math

from netsim.api.meta import NAME_SUFFIX_ALPHABET
from netsim.api.objects import Resource
from netsim.sim.clock import parse_rfc3339


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
