"""Read manifests: multi-document YAML files, folders, and `kind: List` dumps.

Loading is all or nothing: every document is parsed and validated before any
object is returned, and the first problem raises one error naming the file,
the document (1-based, as `---` separates them), the object and the field.
Each object's origin is kept so later checks (a missing namespace) can name
the same place. Documents of netsim's own API group (`apiVersion:
netsim.dev/...`, e.g. a Scenario) are not cluster objects: they are skipped
here and read by their own readers. `dump_yaml` writes objects back the way `kubectl get -o yaml`
does (keys sorted, a `List` for several objects).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netsim.api.errors import FieldError, InvalidObject, YamlSyntaxError
from netsim.api.objects import Resource, make_object
from netsim.api.validate import object_ref, validate

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
NETSIM_GROUP = "netsim.dev/"


def is_netsim_document(doc: Any) -> bool:
    """True for netsim's own documents (apiVersion netsim.dev/...), which are not cluster objects."""
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(NETSIM_GROUP)


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, as Kubernetes' YAML decoder does."""


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object came from: the file, the document number, and the List item if any."""

    source: str
    document: int | None
    item: int | None = None

    def error(self, ref: str, field: str, problem: str) -> InvalidObject:
        """An InvalidObject at this place."""
        label = f"List item {self.item}: {ref}" if self.item is not None else ref
        return InvalidObject(self.source, self.document, label, field, problem)


@dataclass(frozen=True, slots=True)
class Manifest:
    """One loaded object and where it came from."""

    obj: Resource
    origin: Origin


def load_paths(paths: Iterable[str | Path]) -> tuple[Manifest, ...]:
    """Every object in the given files and folders (folders: manifest files below, sorted by path)."""
    out: list[Manifest] = []
    for path in _expand(paths):
        out.extend(load_text(_read(path), str(path)))
    return tuple(out)


def parse_documents(text: str, source: str = "<input>") -> list[Any]:
    """The YAML documents of a text (timestamps kept as strings); YamlSyntaxError names the place."""
    try:
        return list(yaml.load_all(text, Loader=_ManifestLoader))
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, source) from None


def load_text(text: str, source: str = "<input>") -> tuple[Manifest, ...]:
    """Every object in one YAML or JSON text; `source` names it in errors."""
    documents = parse_documents(text, source)
    out: list[Manifest] = []
    for number, doc in enumerate(documents, start=1):
        if doc is None or is_netsim_document(doc):
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List" or (
            isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc
        ):
            items = doc.get("items") or []
            if not isinstance(items, list):
                raise InvalidObject(source, number, "List", "items", "must be a list")
            for index, item in enumerate(items):
                out.append(_one(item, Origin(source, number, index)))
        else:
            out.append(_one(doc, Origin(source, number)))
    return tuple(out)


def _one(data: Any, origin: Origin) -> Manifest:
    try:
        validate(data)
    except FieldError as err:
        raise origin.error(object_ref(data), err.field, err.problem) from None
    return Manifest(make_object(data), origin)


def _syntax_error(err: yaml.YAMLError, text: str, source: str) -> YamlSyntaxError:
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    if mark is None:
        return YamlSyntaxError(f"{source}: invalid YAML: {problem}")
    return YamlSyntaxError(
        f"{source}: document {_document_at(text, mark.line)}: invalid YAML at line {mark.line + 1}, "
        f"column {mark.column + 1}: {problem}"
    )


def _document_at(text: str, line_index: int) -> int:
    """The 1-based number of the YAML document that holds line `line_index` (0-based)."""
    document = 0
    for line in text.splitlines()[:line_index]:
        if line.startswith("---"):
            document += 1
        elif document == 0 and line.strip() and not line.lstrip().startswith("#"):
            document = 1
    return max(document, 1)


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise YamlSyntaxError(f"{path}: no such file or directory")
    return files


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise YamlSyntaxError(f"{path}: cannot read: {err}") from None


class _KubectlDumper(yaml.SafeDumper):
    """SafeDumper that quotes with double quotes where quoting is needed, as kubectl's YAML does."""

    def choose_scalar_style(self):  # noqa: D102 - PyYAML hook
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def as_list(objects: Sequence[Resource]) -> dict:
    """A `kind: List` dict holding the objects, as `kubectl get -o yaml` prints several."""
    return {"apiVersion": "v1", "items": [o.to_dict() for o in objects], "kind": "List",
            "metadata": {"resourceVersion": ""}}


def dump_yaml(objects: Sequence[Resource] | Resource) -> str:
    """YAML as `kubectl get -o yaml` prints it: keys sorted; several objects as a List."""
    data = objects.to_dict() if isinstance(objects, Resource) else as_list(objects)
    return yaml.dump(data, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=1 << 16)


def dump_json(objects: Sequence[Resource] | Resource) -> str:
    """JSON as `kubectl get -o json` prints it: four-space indent, keys sorted."""
    data = objects.to_dict() if isinstance(objects, Resource) else as_list(objects)
    return json.dumps(data, indent=4, sort_keys=True, ensure_ascii=False) + "\n"
