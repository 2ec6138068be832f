"""Validate one manifest dict against the schema, as the API server would on create.

`validate(data)` raises `FieldError` with the field's full path
(`spec.ports[0].port`); the loader turns that into an `InvalidObject` that
names the file, the document and the object.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netsim.api import checks as c
from netsim.api.errors import FieldError
from netsim.api.kinds import KINDS, kind_info
from netsim.api.schema import Row, rows_for

_KNOWN = {info.kind: info for info in KINDS}

_NAME_CHECK = {
    "Namespace": c.dns_label,
    "Service": c.dns1035_label,
}


def object_ref(data: Any) -> str:
    """`Kind namespace/name` for error messages, from whatever identity the dict carries."""
    if not isinstance(data, dict):
        return ""
    kind = data.get("kind") if isinstance(data.get("kind"), str) else "?"
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name") or meta.get("generateName") or "?"
    ns = meta.get("namespace")
    if not ns and kind in _KNOWN and _KNOWN[kind].namespaced:
        ns = "default"  # where kubectl would put it
    return f"{kind} {ns}/{name}" if isinstance(ns, str) and ns else f"{kind} {name}"


def validate(data: Any) -> None:
    """Raise FieldError for the first invalid field of a manifest; return None when it is valid."""
    if not isinstance(data, dict):
        raise FieldError(f"an object must be a mapping, got {c.describe(data)}")
    for field in ("apiVersion", "kind"):
        if field not in data:
            raise FieldError("is required", field)
        if not isinstance(data[field], str):
            raise FieldError(f"must be a string, got {c.describe(data[field])}", field)
    info = kind_info(data["kind"])
    if data["apiVersion"] not in info.accepted_versions:
        raise FieldError(
            f'{info.kind} is served as {" or ".join(info.accepted_versions)}, got "{data["apiVersion"]}"',
            "apiVersion",
        )
    for row in rows_for(info.kind):
        for path, value in _walk(data, row):
            try:
                row.check(value)
            except FieldError as err:
                raise err.under(path) from None
    _check_identity(data, info.namespaced)


def _check_identity(data: dict, namespaced: bool) -> None:
    meta = data["metadata"]
    name = meta.get("name")
    if name is None:
        if not meta.get("generateName"):
            raise FieldError("name or generateName is required", "metadata.name")
    else:
        try:
            _NAME_CHECK.get(data["kind"], c.dns_subdomain)(name)
        except FieldError as err:
            raise err.under("metadata.name") from None
    ns = meta.get("namespace")
    if ns is None:
        return
    if not namespaced:
        raise FieldError(
            f'{data["kind"]} is cluster-scoped and must not have a namespace, got "{ns}"', "metadata.namespace"
        )
    try:
        c.dns_label(ns)
    except FieldError as err:
        raise err.under("metadata.namespace") from None


def _walk(data: dict, row: Row) -> Iterator[tuple[str, Any]]:
    """Each (concrete path, value) the row's path pattern reaches; missing required fields raise."""
    yield from _walk_parts(data, row.path.split("."), "", row.required)


def _walk_parts(node: Any, parts: list[str], prefix: str, required: bool) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield prefix, node
        return
    head, rest = parts[0], parts[1:]
    is_list = head.endswith("[]")
    key = head[:-2] if is_list else head
    if not isinstance(node, dict):
        return
    here = f"{prefix}.{key}" if prefix else key
    if key not in node or node[key] is None:
        if required and not rest and not is_list:
            raise FieldError("is required", here)
        return
    value = node[key]
    if not is_list:
        yield from _walk_parts(value, rest, here, required)
        return
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        yield from _walk_parts(item, rest, f"{here}[{index}]", required)


# StatefulSet spec fields an update may change (ValidateStatefulSetUpdate, as the seed's kube-apiserver words it).
STATEFULSET_MUTABLE = ("replicas", "template", "updateStrategy", "minReadySeconds")


def validate_update(old: dict, new: dict) -> None:
    """Raise FieldError when an update changes what the API server keeps immutable (ValidateXxxUpdate)."""
    if new.get("kind") == "StatefulSet":
        strip = lambda spec: {k: v for k, v in (spec or {}).items() if k not in STATEFULSET_MUTABLE}  # noqa: E731
        if strip(old.get("spec")) != strip(new.get("spec")):
            raise FieldError("Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', "
                             "'updateStrategy' and 'minReadySeconds' are forbidden", "spec")
