"""ServiceAccounts: the serviceaccount and root-ca-cert-publisher controllers, and the ServiceAccount admission plugin.

As kube-controller-manager and kube-apiserver do it:

- serviceaccount controller (pkg/controller/serviceaccount/serviceaccounts_controller.go):
  every Active namespace has a ServiceAccount `default`; one deleted is made again.
- root-ca-cert-publisher (pkg/controller/certificates/rootcacertpublisher/publisher.go):
  every Active namespace has the ConfigMap `kube-root-ca.crt` holding the cluster
  CA certificate (`ca.crt`) and the `kubernetes.io/description` annotation; a
  changed one is put back.
- ServiceAccount admission (plugin/pkg/admission/serviceaccount/admission.go), on
  pod create: the pod's ServiceAccount must exist, else `pods "x" is forbidden:
  error looking up service account ns/name: serviceaccount "name" not found`;
  unless automountServiceAccountToken is false (the pod's, else its
  ServiceAccount's), every init container and container without a mount at
  /var/run/secrets/kubernetes.io/serviceaccount gets a read-only one of the
  projected volume `kube-api-access-<5 random characters>` (token, ca.crt,
  namespace), added to the pod's volumes unless one with that prefix is there.

The `default` ServiceAccount counts as present in a namespace that exists and is
not terminating: the controller makes it in the same settle, which is why the
real plugin retries its look-up of `default` rather than refusing at once.
Objects restored from a dump (they carry their uid and creationTimestamp) were
admitted by the cluster they came from and are not admitted again.
Not emulated: legacy token Secrets, imagePullSecrets copied from the
ServiceAccount, the enforce-mountable-secrets annotation, mirror pods.
"""

from __future__ import annotations

from collections.abc import Callable

from netsim.api.errors import Forbidden
from netsim.api import meta as api_meta
from netsim.api.store import Store

DEFAULT_SERVICE_ACCOUNT = "default"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"   # DefaultAPITokenMountPath
VOLUME_PREFIX = "kube-api-access-"                                    # ServiceAccountVolumeName + "-"
TOKEN_EXPIRATION_SECONDS = 3607   # serviceaccount.WarnOnlyBoundTokenExpirationSeconds (an hour and 7 s)
PROJECTED_DEFAULT_MODE = 420      # 0644, SetDefaults_ProjectedVolumeSource


def _active_namespaces(store: Store) -> list[str]:
    return [ns.name for ns in store.list("Namespace")
            if not ns.deletion_timestamp and ns.status.get("phase", "Active") == "Active"]


def reconcile(store: Store, root_ca_pem: Callable[[], str], rng) -> None:
    """One pass of both controllers: `default` and `kube-root-ca.crt` in every Active namespace.

    `root_ca_pem` gives the cluster CA certificate (PEM); it is asked for only
    when a ConfigMap has to be written (deriving the CA is not free). The
    objects' uids draw from `rng`, the controllers' own stream, so that adding
    them leaves the store's draws (other uids, generated pod names) as they were.
    """
    for ns in _active_namespaces(store):
        if store.try_get("ServiceAccount", DEFAULT_SERVICE_ACCOUNT, ns) is None:
            _create(store, rng, {"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": ns}})
        _publish_root_ca(store, ns, root_ca_pem, rng)


def _create(store: Store, rng, obj: dict) -> None:
    """Create with a uid from the controllers' own generator (the store keeps a given uid on restore)."""
    obj["metadata"].update(uid=api_meta.new_uid(rng), creationTimestamp=store.now())
    store.create(obj, restore=True)


def _publish_root_ca(store: Store, ns: str, root_ca_pem: Callable[[], str], rng) -> None:
    """syncNamespace of the publisher: create the ConfigMap, or put its data and annotation back."""
    current = store.try_get("ConfigMap", ROOT_CA_CONFIGMAP, ns)
    if current is None:
        _create(store, rng, {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": ns,
                                          "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                             "data": {ROOT_CA_KEY: root_ca_pem()}})
        return
    if current.annotations.get(DESCRIPTION_ANNOTATION) and current.get("data") == {ROOT_CA_KEY: root_ca_pem()}:
        return

    def restore(d: dict) -> None:
        d["data"] = {ROOT_CA_KEY: root_ca_pem()}
        d["metadata"].setdefault("annotations", {})[DESCRIPTION_ANNOTATION] = DESCRIPTION

    store.update(current.evolve(restore))


def token_volume(name: str) -> dict:
    """The projected volume the plugin adds (TokenVolumeSource), with the API server's defaultMode."""
    return {"name": name, "projected": {
        "defaultMode": PROJECTED_DEFAULT_MODE,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
            {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": ROOT_CA_KEY, "path": ROOT_CA_KEY}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}}


class ServiceAccountAdmission:
    """The ServiceAccount admission plugin on pod create; its volume names draw from its own generator.

    A generator of its own keeps the draws for volume names from shifting the
    store's (uids, generated names).
    """

    __slots__ = ("_rng",)

    def __init__(self, rng) -> None:
        self._rng = rng

    def __call__(self, store: Store, data: dict) -> None:
        """Admit a Pod being created (other kinds pass untouched); Forbidden when its ServiceAccount is missing."""
        if data.get("kind") != "Pod":
            return
        meta = data["metadata"]
        if meta.get("uid") and meta.get("creationTimestamp"):
            return   # restored from a dump: already admitted
        spec = data.setdefault("spec", {})
        ns = meta.get("namespace", "default")
        name = spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccountName"] = name
        account = store.try_get("ServiceAccount", name, ns)
        if account is None and not (name == DEFAULT_SERVICE_ACCOUNT and ns in _active_namespaces(store)):
            raise Forbidden(f'pods "{meta.get("name") or meta.get("generateName", "")}" is forbidden: error looking '
                            f'up service account {ns}/{name}: serviceaccount "{name}" not found')
        automount = spec.get("automountServiceAccountToken")
        if automount is None and account is not None:
            automount = account.get("automountServiceAccountToken")
        if automount is False:
            return
        self._mount_token(spec)

    def _mount_token(self, spec: dict) -> None:
        """mountServiceAccountToken with bound tokens: one mount per container, one volume if any needs it."""
        volumes = spec.get("volumes") or []
        existing = next((v["name"] for v in volumes if str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
        volume_name = existing or VOLUME_PREFIX + api_meta.random_suffix(self._rng)
        needed = False
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            mounts = container.setdefault("volumeMounts", [])
            if any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": volume_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH})
            needed = True
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            if not container["volumeMounts"]:
                del container["volumeMounts"]
        if needed and existing is None:
            spec["volumes"] = [*volumes, token_volume(volume_name)]
