"""The seeded random generator and its per-component children.

`Random(seed)` wraps one `numpy.random.Generator` (PCG64 over a `SeedSequence`).
`child(name)` derives an independent stream for a component ("kubeproxy/node-1")
from the same seed with a spawn key computed from SHA-256 of the name: stable
across processes and Python versions (never `hash()`, which is salted per process),
and independent of the order in which components ask for their streams.

The helpers draw what controllers need: UIDs in UUID4 form, generateName suffixes
from apimachinery's util/rand alphabet, uniform floats, choices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

from netsim.api.meta import MAX_GENERATED_NAME_BASE, NAME_SUFFIX_ALPHABET as SUFFIX_ALPHABET, new_uid, random_suffix


def name_key(name: str) -> tuple[int, ...]:
    """Four 32-bit words of SHA-256(name): the spawn-key part a component name contributes."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4))


class Random:
    """One seeded stream of draws; `generator` is the numpy Generator to hand to numpy code."""

    __slots__ = ("seed", "spawn_key", "name", "generator")

    def __init__(self, seed: int = 0, spawn_key: tuple[int, ...] = (), name: str = "") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"the seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        self.spawn_key = tuple(spawn_key)
        self.name = name
        sequence = np.random.SeedSequence(entropy=seed, spawn_key=self.spawn_key)
        self.generator = np.random.Generator(np.random.PCG64(sequence))

    def child(self, name: str) -> Random:
        """The stream for component `name`, derived from this one's seed and key, not its state."""
        if not name:
            raise ValueError("a child stream needs a name")
        full = f"{self.name}/{name}" if self.name else name
        return Random(self.seed, self.spawn_key + name_key(name), full)

    # --- draws --------------------------------------------------------------------------
    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        """A float in [low, high)."""
        return float(self.generator.uniform(low, high))

    def random(self) -> float:
        """A float in [0, 1)."""
        return float(self.generator.random())

    def integers(self, low: int, high: int) -> int:
        """An int in [low, high)."""
        return int(self.generator.integers(low, high))

    def chance(self, probability: float) -> bool:
        """True with `probability` (as the `statistic --mode random` match draws)."""
        return self.random() < probability

    def choice(self, items: Sequence[T]) -> T:
        """One of `items`, uniformly."""
        if not items:
            raise ValueError("cannot choose from an empty sequence")
        return items[int(self.generator.integers(0, len(items)))]

    def permutation(self, items: Sequence[T]) -> list[T]:
        """`items` in a random order (a new list)."""
        order = self.generator.permutation(len(items))
        return [items[int(i)] for i in order]

    def uid(self) -> str:
        """A metadata.uid: 16 random bytes in UUID version-4 form (as uuid.NewUUID makes)."""
        return new_uid(self.generator)

    def random_suffix(self, n: int = 5) -> str:
        """`n` characters from util/rand's alphabet, as utilrand.String(n)."""
        return random_suffix(self.generator, n)

    def generate_name(self, base: str) -> str:
        """metadata.generateName resolved as the API server does: base[:58] + 5 random characters."""
        return base[:MAX_GENERATED_NAME_BASE] + self.random_suffix(5)

    def __repr__(self) -> str:
        return f"Random(seed={self.seed}, name={self.name!r})"
