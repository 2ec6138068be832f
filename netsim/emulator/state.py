"""A working cluster kept in a state folder, so commands can change it as kubectl changes a live one.

`netsim up` writes the folder (default ./.netsim): `cluster.yaml` holds the
inputs — the topology's text, each manifest file's text, the seed — and a
journal of the commands applied since, in order. Every later command
rebuilds the cluster by replaying the inputs and then the journal, so the
same folder always gives the same cluster, byte for byte. Writes go to a
temporary file first and replace the old one, so a failed command leaves
the folder as it was.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from netsim.api.load import MANIFEST_SUFFIXES
from netsim.errors import InputError

STATE_FILE = "cluster.yaml"
FORMAT = "netsim.dev/state/v1"


class StateError(InputError):
    """The state folder is missing, unreadable or not netsim's."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file as it was when the cluster was brought up."""

    path: str
    text: str


@dataclass(frozen=True, slots=True)
class ClusterState:
    """Inputs plus journal: everything needed to rebuild the cluster."""

    topology: SourceFile
    manifests: tuple[SourceFile, ...]
    seed: int
    journal: tuple[dict, ...] = field(default=())

    def with_entry(self, entry: dict) -> ClusterState:
        """The same state with one more journal entry (a command applied)."""
        return ClusterState(self.topology, self.manifests, self.seed, self.journal + (entry,))


def read_sources(paths: Sequence[str | Path]) -> tuple[SourceFile, ...]:
    """The manifest files named (folders expanded, sorted) with their text."""
    out = []
    for raw in paths:
        path = Path(raw)
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES) \
            if path.is_dir() else [path]
        for f in files:
            try:
                out.append(SourceFile(str(f), f.read_text(encoding="utf-8")))
            except OSError as err:
                raise StateError(f"{f}: cannot read: {err.strerror}") from None
    return tuple(out)


def save(folder: str | Path, state: ClusterState) -> Path:
    """Write the state file atomically; returns its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "seed": state.seed,
        "topology": {"path": state.topology.path, "text": state.topology.text},
        "manifests": [{"path": s.path, "text": s.text} for s in state.manifests],
        "journal": list(state.journal),
    }
    target = folder / STATE_FILE
    tmp = folder / (STATE_FILE + ".tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 16), encoding="utf-8")
    os.replace(tmp, target)
    return target


def load(folder: str | Path) -> ClusterState:
    """Read a state folder written by `save`."""
    path = Path(folder) / STATE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise StateError(f"{path}: no cluster here; run `netsim up` first") from None
    except yaml.YAMLError as err:
        raise StateError(f"{path}: not readable as YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path}: not a netsim state file (format: {FORMAT})")
    try:
        return ClusterState(
            topology=SourceFile(data["topology"]["path"], data["topology"]["text"]),
            manifests=tuple(SourceFile(m["path"], m["text"]) for m in data["manifests"]),
            seed=int(data["seed"]),
            journal=tuple(data.get("journal") or ()),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise StateError(f"{path}: damaged state file ({err})") from None
