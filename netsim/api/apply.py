"""Put loaded manifests into the store, all or nothing, as `kubectl apply -f` would.

Namespaces are created first so a file may define a namespace after objects
that use it. Any refusal (a namespace that does not exist, a duplicate) undoes
everything this call created and raises `InvalidObject` naming the file,
document, object and field.
"""

from __future__ import annotations

from collections.abc import Sequence

from netsim.api.errors import AlreadyExists, ApiError, FieldError, NotFound
from netsim.api.load import Manifest
from netsim.api.objects import Resource
from netsim.api.store import Store


def apply_manifests(store: Store, manifests: Sequence[Manifest], *, restore: bool = False) -> list[Resource]:
    """Create every manifest's object (update it when it exists); returns the stored objects in input order.

    `restore` keeps the uid and creationTimestamp objects carry (see `Store.create`).
    """
    ordered = sorted(range(len(manifests)), key=lambda i: manifests[i].obj.kind != "Namespace")
    stored: dict[int, Resource] = {}
    with store.atomic():
        for index in ordered:
            manifest = manifests[index]
            stored[index] = _apply_one(store, manifest, restore)
    return [stored[i] for i in range(len(manifests))]


def _apply_one(store: Store, manifest: Manifest, restore: bool) -> Resource:
    obj = manifest.obj
    try:
        if obj.name and store.try_get(obj.kind, obj.name, obj.namespace or "default") is not None:
            return _update(store, obj)
        return store.create(obj, restore=restore)
    except NotFound as err:
        field = "metadata.namespace" if "namespaces" in str(err) else ""
        raise manifest.origin.error(obj.ref, field, str(err)) from None
    except FieldError as err:
        raise manifest.origin.error(obj.ref, err.field, err.problem) from None
    except (AlreadyExists, ApiError) as err:
        raise manifest.origin.error(obj.ref, "", str(err)) from None


def _update(store: Store, obj: Resource) -> Resource:
    """Merge the manifest into the stored object, keeping server-set fields it does not name.

    This is what kubectl apply does for an object without a last-applied
    configuration: maps merge key by key (so a claim keeps its bound
    volumeName), lists and values replace; labels and annotations replace.
    """
    current = store.get(obj.kind, obj.name, obj.namespace or "default")
    incoming = obj.to_dict()

    def merge(data: dict) -> None:
        meta = data["metadata"]
        for key, value in incoming.items():
            if key not in ("metadata", "status"):
                data[key] = _merged(data.get(key), value)
        for key in ("labels", "annotations"):
            if key in incoming.get("metadata", {}):
                meta[key] = incoming["metadata"][key]

    return store.update(current.evolve(merge))


def _merged(old, new):
    """`new` laid over `old`: maps recursively, anything else replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            out[key] = _merged(old.get(key), value)
        return out
    return new
