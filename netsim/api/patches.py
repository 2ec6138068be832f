"""The three patch types `kubectl patch --type` sends, applied as the API server applies them.

- merge: a JSON merge patch (RFC 7386): maps merge, null deletes, anything else replaces.
- json: a JSON patch (RFC 6902): add, remove, replace, move, copy, test at JSON pointers.
- strategic: a strategic merge patch. Where the API types give a list no patch
  strategy it is a merge patch, and that is all netsim does: a patch that sets a
  list the types mark `patchStrategy: merge` (containers, env, finalizers, ...)
  or that uses a `$patch`-style directive raises NotImplementedFeature naming it.

A patch never changes status through the main resource: as the registries'
PrepareForUpdate, the current status is kept (`kubectl patch` of status alone
is "patched (no change)").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from netsim.api.errors import FieldError
from netsim.api.objects import Resource, make_object
from netsim.errors import NotImplementedFeature

PATCH_TYPES = ("merge", "json", "strategic")

# Lists the API types mark patchStrategy=merge (by field name): a strategic patch merges them by key.
STRATEGIC_LISTS = frozenset({
    "finalizers", "ownerReferences",                                   # ObjectMeta
    "containers", "initContainers", "ephemeralContainers", "volumes",  # PodSpec
    "imagePullSecrets", "hostAliases", "topologySpreadConstraints", "resourceClaims", "schedulingGates",
    "ports", "env", "volumeMounts", "volumeDevices",                   # Container, ServiceSpec.ports
    "conditions", "podCIDRs", "taints",
})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_patch(target: dict, patch: Any) -> dict:
    """A strategic merge patch where it equals a merge patch; NotImplementedFeature where it would not."""
    if not isinstance(patch, Mapping):
        raise FieldError("a strategic merge patch must be a JSON object", "patch")
    _check_strategic(patch, "")
    return merge_patch(target, patch)


def _check_strategic(patch: Mapping, path: str) -> None:
    for key, value in patch.items():
        where = f"{path}.{key}" if path else str(key)
        if str(key).startswith("$"):
            raise NotImplementedFeature(f"strategic merge patch: the {key} directive ({where}) is not emulated; "
                                        f"use --type merge or --type json")
        if isinstance(value, list) and key in STRATEGIC_LISTS:
            raise NotImplementedFeature(f"strategic merge patch of the list {where} (patchStrategy merge) is not "
                                        f"emulated; use --type merge or --type json")
        if isinstance(value, Mapping):
            _check_strategic(value, where)


def json_patch(target: dict, operations: Any) -> dict:
    """RFC 6902: the operations in order on a copy of `target`; FieldError on the first that does not apply."""
    if not isinstance(operations, list):
        raise FieldError("a json patch must be a list of operations", "patch")
    doc = copy.deepcopy(target)
    for index, op in enumerate(operations):
        if not isinstance(op, Mapping) or "op" not in op or "path" not in op:
            raise FieldError("each operation needs op and path", f"patch[{index}]")
        kind = op["op"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise FieldError(f"{kind} operation needs a value", f"patch[{index}]")
        if kind == "add":
            doc = _add(doc, op["path"], copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, op["path"])
        elif kind == "replace":
            doc, _ = _remove(doc, op["path"], verb="replace")
            doc = _add(doc, op["path"], copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise FieldError(f"{kind} operation needs from", f"patch[{index}]")
            value = _get(doc, op["from"], kind)
            if kind == "move":
                doc, _ = _remove(doc, op["from"], verb="move")
            doc = _add(doc, op["path"], copy.deepcopy(value))
        elif kind == "test":
            if _get(doc, op["path"], "test") != op["value"]:
                raise FieldError(f"testing value {op['path']} failed", f"patch[{index}]")
        else:
            raise FieldError(f'unexpected kind of operation "{kind}"', f"patch[{index}]")
    return doc


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise FieldError(f'JSON pointer must start with "/": "{pointer}"', "patch")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(node: list, token: str, pointer: str, verb: str, *, append: bool = False) -> int:
    if append and token == "-":
        return len(node)
    if not token.isdigit():
        raise FieldError(f'{verb} operation does not apply: doc is missing path: "{pointer}"', "patch")
    i = int(token)
    if i > len(node) or (i == len(node) and not append):
        raise FieldError(f'{verb} operation does not apply: doc is missing path: "{pointer}"', "patch")
    return i


def _parent(doc: Any, pointer: str, verb: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise FieldError(f"{verb} operation at the document root is not supported", "patch")
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, pointer, verb)]
        else:
            raise FieldError(f'{verb} operation does not apply: doc is missing path: "{pointer}"', "patch")
    return node, tokens[-1]


def _get(doc: Any, pointer: str, verb: str) -> Any:
    node = doc
    for token in _tokens(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise FieldError(f'{verb} operation does not apply: doc is missing path: "{pointer}"', "patch")
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    parent, last = _parent(doc, pointer, "add")
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, pointer, "add", append=True), value)
    else:
        raise FieldError(f'add operation does not apply: doc is missing path: "{pointer}"', "patch")
    return doc


def _remove(doc: Any, pointer: str, verb: str = "remove") -> tuple[Any, Any]:
    parent, last = _parent(doc, pointer, verb)
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, pointer, verb))
    raise FieldError(f'{verb} operation does not apply: doc is missing path: "{pointer}"', "patch")


def patched(current: Resource, patch: Any, patch_type: str) -> Resource:
    """`current` with the patch applied (status kept as it is), ready for the store's update."""
    if patch_type not in PATCH_TYPES:
        raise FieldError(f'--type must be one of {", ".join(PATCH_TYPES)}, got "{patch_type}"', "type")
    data = current.to_dict()
    if patch_type == "merge":
        result = merge_patch(data, patch)
    elif patch_type == "json":
        result = json_patch(data, patch)
    else:
        result = strategic_patch(data, patch)
    if not isinstance(result, dict):
        raise FieldError("the patched object is not a JSON object", "patch")
    for field in ("apiVersion", "kind"):
        if result.get(field) != data.get(field):
            raise FieldError(f"a patch cannot change {field}", field)
    meta = result.get("metadata")
    if not isinstance(meta, dict) or meta.get("name") != current.name or \
            meta.get("namespace", "") != data["metadata"].get("namespace", ""):
        raise FieldError("a patch cannot change metadata.name or metadata.namespace", "metadata")
    if "status" in data:
        result["status"] = data["status"]
    else:
        result.pop("status", None)
    meta["resourceVersion"] = current.resource_version
    return make_object(result)


def patch_object(store, kind: str, name: str, namespace: str, patch: Any,
                 patch_type: str) -> tuple[bool, Resource | None]:
    """Patch one object through the store: (whether anything changed, the object now or None once removed)."""
    current = store.get(kind, name, namespace)
    after = store.update(patched(current, patch, patch_type))
    return after is None or after.resource_version != current.resource_version, after
