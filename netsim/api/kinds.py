"""The kinds netsim knows: API group/version, resource name, scope, short names.

One row per kind, as `kubectl api-resources` lists them. Loading rejects a kind
that is not here; `netsim get` resolves plural, singular and short names here.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsim.api.errors import FieldError


@dataclass(frozen=True, slots=True)
class KindInfo:
    """One API resource type: `kind`, its preferred apiVersion, plural name, scope, short names."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    other_versions: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    @property
    def accepted_versions(self) -> tuple[str, ...]:
        """apiVersions a manifest of this kind may carry."""
        return (self.api_version,) + self.other_versions

    @property
    def singular(self) -> str:
        """The lower-case singular resource name (`deployment`)."""
        return self.kind.lower()

    @property
    def resource(self) -> str:
        """`plural.group` as kubectl writes a resource with its group (`deployments.apps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_GW = "gateway.networking.k8s.io"

KINDS: tuple[KindInfo, ...] = (
    # core/v1
    KindInfo("ConfigMap", "v1", "configmaps", True, ("cm",)),
    KindInfo("Endpoints", "v1", "endpoints", True, ("ep",)),
    KindInfo("Event", "v1", "events", True, ("ev",)),
    KindInfo("Namespace", "v1", "namespaces", False, ("ns",)),
    KindInfo("Node", "v1", "nodes", False, ("no",)),
    KindInfo("PersistentVolume", "v1", "persistentvolumes", False, ("pv",)),
    KindInfo("PersistentVolumeClaim", "v1", "persistentvolumeclaims", True, ("pvc",)),
    KindInfo("Pod", "v1", "pods", True, ("po",)),
    KindInfo("Secret", "v1", "secrets", True),
    KindInfo("Service", "v1", "services", True, ("svc",)),
    KindInfo("ServiceAccount", "v1", "serviceaccounts", True, ("sa",)),
    # apps/v1
    KindInfo("ControllerRevision", "apps/v1", "controllerrevisions", True),
    KindInfo("DaemonSet", "apps/v1", "daemonsets", True, ("ds",)),
    KindInfo("Deployment", "apps/v1", "deployments", True, ("deploy",)),
    KindInfo("ReplicaSet", "apps/v1", "replicasets", True, ("rs",)),
    KindInfo("StatefulSet", "apps/v1", "statefulsets", True, ("sts",)),
    # batch/v1
    KindInfo("CronJob", "batch/v1", "cronjobs", True, ("cj",)),
    KindInfo("Job", "batch/v1", "jobs", True),
    # networking
    KindInfo("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True),
    KindInfo("Ingress", "networking.k8s.io/v1", "ingresses", True, ("ing",)),
    KindInfo("IngressClass", "networking.k8s.io/v1", "ingressclasses", False),
    KindInfo("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", True, ("netpol",)),
    KindInfo("Gateway", f"{_GW}/v1", "gateways", True, ("gtw",), (f"{_GW}/v1beta1",)),
    KindInfo("GatewayClass", f"{_GW}/v1", "gatewayclasses", False, ("gc",), (f"{_GW}/v1beta1",)),
    KindInfo("HTTPRoute", f"{_GW}/v1", "httproutes", True, (), (f"{_GW}/v1beta1",)),
    KindInfo("ReferenceGrant", f"{_GW}/v1beta1", "referencegrants", True, ("refgrant",)),
    KindInfo("TCPRoute", f"{_GW}/v1alpha2", "tcproutes", True),
    KindInfo("UDPRoute", f"{_GW}/v1alpha2", "udproutes", True),
    # storage
    KindInfo("StorageClass", "storage.k8s.io/v1", "storageclasses", False, ("sc",)),
    KindInfo("VolumeAttachment", "storage.k8s.io/v1", "volumeattachments", False),
    # rbac
    KindInfo("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", False),
    KindInfo("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    KindInfo("Role", "rbac.authorization.k8s.io/v1", "roles", True),
    KindInfo("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", True),
    # policy
    KindInfo("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", True, ("pdb",)),
    # scheduling, certificates, coordination
    KindInfo("PriorityClass", "scheduling.k8s.io/v1", "priorityclasses", False, ("pc",)),
    KindInfo("CertificateSigningRequest", "certificates.k8s.io/v1", "certificatesigningrequests", False, ("csr",)),
    KindInfo("Lease", "coordination.k8s.io/v1", "leases", True),
)

_BY_KIND = {info.kind: info for info in KINDS}
_BY_NAME: dict[str, KindInfo] = {}
for _info in KINDS:
    for _name in (_info.kind.lower(), _info.plural, _info.resource, *_info.short_names):
        _BY_NAME[_name] = _info


def kind_info(kind: str) -> KindInfo:
    """The row for `kind` (exact, as written in a manifest); FieldError when unknown."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise FieldError(f'unknown kind "{kind}" (netsim knows: {", ".join(sorted(_BY_KIND))})', "kind") from None


def resolve_resource(name: str) -> KindInfo:
    """The kind a kubectl-style resource argument names (`po`, `pods`, `deployments.apps`, `Pod`)."""
    info = _BY_NAME.get(name.lower()) or _BY_KIND.get(name)
    if info is None:
        raise FieldError(f'the server doesn\'t have a resource type "{name}"')
    return info
