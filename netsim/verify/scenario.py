"""A scenario folder: manifests, an optional topology, and the traffic to send through them.

A scenario is a folder of Kubernetes manifests plus one netsim document:

    apiVersion: netsim.dev/v1alpha1
    kind: Scenario
    metadata: {name: quickstart}
    spec:
      topology: ../../topologies/three-node.yaml   # relative to the folder; --topology overrides
      seed: 0                                      # --seed overrides
      traffic:
      - name: client to web
        from: pod/client
        to: service/web:80
        protocol: TCP
        count: 4

(the full scenario format, with steps and expectations, is cluster/README.md's
to document as it grows). A folder without a Scenario document is run with no
traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsim.api.errors import FieldError, InvalidObject
from netsim.api.load import MANIFEST_SUFFIXES, is_netsim_document, parse_documents
from netsim.emulator.traffic import FlowSpec

API_VERSION = "netsim.dev/v1alpha1"


@dataclass(frozen=True, slots=True)
class Scenario:
    """What `netsim run` does with a folder."""

    name: str
    folder: Path
    topology: Path | None
    seed: int | None
    traffic: tuple[FlowSpec, ...]


def load_scenario(folder: str | Path) -> Scenario:
    """The scenario of a folder (its netsim.dev document, if any)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidObject(str(folder), None, "", "", "a scenario is a folder of manifests; no such folder")
    found: list[tuple[Path, int, dict]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES):
        for number, doc in enumerate(parse_documents(path.read_text(encoding="utf-8"), str(path)), start=1):
            if is_netsim_document(doc):
                found.append((path, number, doc))
    if not found:
        return Scenario(folder.name, folder, None, None, ())
    if len(found) > 1:
        places = ", ".join(f"{p}: document {n}" for p, n, _ in found)
        raise InvalidObject(str(folder), None, "", "", f"more than one netsim document ({places})")
    path, number, doc = found[0]
    try:
        return _from_document(doc, folder)
    except FieldError as err:
        name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc.get("metadata"), Mapping) else "?"
        raise InvalidObject(str(path), number, f"Scenario {name}", err.field, err.problem) from None


def _from_document(doc: dict, folder: Path) -> Scenario:
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Scenario":
        raise FieldError(f"netsim knows kind Scenario in {API_VERSION}, got {doc.get('kind')!r} in "
                         f"{doc.get('apiVersion')!r}", "kind")
    meta = doc.get("metadata") or {}
    spec: Any = doc.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise FieldError("must be an object", "spec")
    unknown = sorted(set(spec) - {"topology", "seed", "traffic"})
    if unknown:
        raise FieldError(f"unknown field {unknown[0]!r}", f"spec.{unknown[0]}")
    topology = spec.get("topology")
    if topology is not None and not isinstance(topology, str):
        raise FieldError("must be a path", "spec.topology")
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise FieldError(f"must be a non-negative integer, got {seed!r}", "spec.seed")
    traffic = spec.get("traffic") or []
    if not isinstance(traffic, list):
        raise FieldError("must be a list", "spec.traffic")
    flows = []
    for index, item in enumerate(traffic):
        try:
            flows.append(FlowSpec.from_dict(item, index))
        except FieldError as err:
            raise err.under("spec") from None
    return Scenario(
        name=str(meta.get("name") or folder.name),
        folder=folder,
        topology=(folder / topology).resolve() if topology else None,
        seed=seed,
        traffic=tuple(flows),
    )
