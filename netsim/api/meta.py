"""Object identity and metadata value objects shared by every kind."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """Where an object lives in the store: kind, namespace ("" when cluster-scoped), name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class OwnerReference:
    """metadata.ownerReferences[]: the owner's identity and the garbage collector's flags."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool = False
    block_owner_deletion: bool = False

    @classmethod
    def from_dict(cls, d: dict) -> OwnerReference:
        """Read one ownerReferences entry as the API serves it."""
        return cls(
            api_version=d.get("apiVersion", ""),
            kind=d.get("kind", ""),
            name=d.get("name", ""),
            uid=d.get("uid", ""),
            controller=bool(d.get("controller", False)),
            block_owner_deletion=bool(d.get("blockOwnerDeletion", False)),
        )

    def to_dict(self) -> dict:
        """The ownerReferences entry as the API serves it (false flags omitted... except as set)."""
        out = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "uid": self.uid}
        if self.block_owner_deletion:
            out["blockOwnerDeletion"] = True
        if self.controller:
            out["controller"] = True
        return out


@dataclass(frozen=True, slots=True)
class Condition:
    """One entry of status.conditions (type, status "True"/"False"/"Unknown", reason, message)."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> Condition:
        """Read one status.conditions entry."""
        return cls(
            type=d.get("type", ""),
            status=d.get("status", ""),
            reason=d.get("reason", "") or "",
            message=d.get("message", "") or "",
            last_transition_time=d.get("lastTransitionTime", "") or "",
        )


def format_time(seconds: float) -> str:
    """RFC 3339 in UTC at one-second precision, as metadata timestamps are written ("2024-01-01T00:00:00Z")."""
    moment = _dt.datetime.fromtimestamp(math.floor(seconds), tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# The alphabet of apimachinery's util/rand.String: no vowels (no words), no 0/1/3 (ambiguous).
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# names.SimpleNameGenerator keeps generateName bases to 63 - 5 characters.
MAX_GENERATED_NAME_BASE = 58


def random_suffix(rng, length: int = 5) -> str:
    """A generateName suffix as the API server makes one, drawn from the seeded generator."""
    picks = rng.integers(0, len(NAME_SUFFIX_ALPHABET), size=length)
    return "".join(NAME_SUFFIX_ALPHABET[int(i)] for i in picks)


def new_uid(rng) -> str:
    """A version-4-format UUID string drawn from the seeded generator (never uuid4)."""
    raw = bytearray(rng.bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
