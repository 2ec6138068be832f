"""Which check applies to which field, kind by kind.

A row is (path, check, required). A path is dotted with `[]` for "every item
of a list" and `{}` for "every value of a map": `spec.ports[].port`. Rows for a
parent come before rows for its children, so a wrong container type is named
before anything inside it. Only fields netsim reads or the API server would
reject are listed; everything else is carried through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from netsim.api import checks as c


@dataclass(frozen=True, slots=True)
class Row:
    """One field rule: where, what check, and whether the field must be present."""

    path: str
    check: c.Check
    required: bool = False


def _pod_spec(prefix: str) -> tuple[Row, ...]:
    """The rows of a PodSpec found at `prefix` (a Pod's `spec`, a template's `spec.template.spec`)."""
    p = prefix
    return (
        Row(p, c.mapping, required=True),
        Row(f"{p}.containers", c.sequence, required=True),
        Row(f"{p}.containers[]", c.mapping),
        Row(f"{p}.containers[].name", c.dns_label, required=True),
        Row(f"{p}.containers[].image", c.string),
        Row(f"{p}.containers[].ports", c.sequence),
        Row(f"{p}.containers[].ports[]", c.mapping),
        Row(f"{p}.containers[].ports[].containerPort", c.port_number, required=True),
        Row(f"{p}.containers[].ports[].hostPort", c.port_number),
        Row(f"{p}.containers[].ports[].protocol", c.protocol),
        Row(f"{p}.containers[].ports[].name", c.string),
        Row(f"{p}.containers[].resources", c.mapping),
        Row(f"{p}.containers[].resources.requests", c.quantity_map),
        Row(f"{p}.containers[].resources.limits", c.quantity_map),
        Row(f"{p}.initContainers", c.sequence),
        Row(f"{p}.initContainers[].name", c.dns_label, required=True),
        Row(f"{p}.nodeName", c.string),
        Row(f"{p}.nodeSelector", c.string_map),
        Row(f"{p}.hostNetwork", c.boolean),
        Row(f"{p}.hostname", c.dns_label),
        Row(f"{p}.subdomain", c.dns_label),
        Row(f"{p}.dnsPolicy", c.one_of("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")),
        Row(f"{p}.restartPolicy", c.one_of("Always", "OnFailure", "Never")),
        Row(f"{p}.terminationGracePeriodSeconds", c.non_negative),
        Row(f"{p}.priority", c.integer),
        Row(f"{p}.tolerations", c.sequence),
    )


def _l4_route() -> tuple[Row, ...]:
    """TCPRoute/UDPRoute (gateway.networking.k8s.io/v1alpha2): parentRefs and weighted backendRefs."""
    return (
        Row("spec", c.mapping, required=True),
        Row("spec.parentRefs", c.sequence),
        Row("spec.parentRefs[]", c.mapping),
        Row("spec.parentRefs[].name", c.string, required=True),
        Row("spec.rules", c.sequence, required=True),
        Row("spec.rules[]", c.mapping),
        Row("spec.rules[].backendRefs", c.sequence),
        Row("spec.rules[].backendRefs[]", c.mapping),
        Row("spec.rules[].backendRefs[].name", c.string, required=True),
        Row("spec.rules[].backendRefs[].port", c.port_number),
        Row("spec.rules[].backendRefs[].weight", c.in_range(0, 1000000)),
    )


def _template(prefix: str) -> tuple[Row, ...]:
    """A PodTemplateSpec at `prefix`: its labels and its pod spec."""
    return (
        Row(prefix, c.mapping, required=True),
        Row(f"{prefix}.metadata", c.mapping),
        Row(f"{prefix}.metadata.labels", c.labels),
        *_pod_spec(f"{prefix}.spec"),
    )


def _workload(selector_required: bool = True) -> tuple[Row, ...]:
    return (
        Row("spec", c.mapping, required=True),
        Row("spec.replicas", c.non_negative),
        Row("spec.selector", c.label_selector, required=selector_required),
        *_template("spec.template"),
    )


METADATA: tuple[Row, ...] = (
    Row("metadata", c.mapping, required=True),
    Row("metadata.labels", c.labels),
    Row("metadata.annotations", c.string_map),
    Row("metadata.finalizers", c.sequence),
    Row("metadata.finalizers[]", c.string),
    Row("metadata.ownerReferences", c.sequence),
    Row("metadata.ownerReferences[]", c.mapping),
    Row("metadata.ownerReferences[].kind", c.string, required=True),
    Row("metadata.ownerReferences[].name", c.string, required=True),
    Row("metadata.ownerReferences[].uid", c.string, required=True),
)

SCHEMA: dict[str, tuple[Row, ...]] = {
    "Pod": _pod_spec("spec"),
    "Deployment": (
        *_workload(),
        Row("spec.strategy", c.mapping),
        Row("spec.strategy.type", c.one_of("RollingUpdate", "Recreate")),
        Row("spec.revisionHistoryLimit", c.non_negative),
        Row("spec.minReadySeconds", c.non_negative),
    ),
    "ReplicaSet": _workload(),
    "StatefulSet": (*_workload(), Row("spec.serviceName", c.string)),
    "DaemonSet": (
        Row("spec", c.mapping, required=True),
        Row("spec.selector", c.label_selector, required=True),
        *_template("spec.template"),
    ),
    "Job": (
        Row("spec", c.mapping, required=True),
        Row("spec.parallelism", c.non_negative),
        Row("spec.completions", c.non_negative),
        Row("spec.backoffLimit", c.non_negative),
        Row("spec.selector", c.label_selector),
        *_template("spec.template"),
    ),
    "CronJob": (
        Row("spec", c.mapping, required=True),
        Row("spec.schedule", c.string, required=True),
        Row("spec.suspend", c.boolean),
        Row("spec.jobTemplate", c.mapping, required=True),
        *_template("spec.jobTemplate.spec.template"),
    ),
    "Service": (
        Row("spec", c.mapping),
        Row("spec.type", c.one_of("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
        Row("spec.clusterIP", c.cluster_ip),
        Row("spec.clusterIPs", c.sequence),
        Row("spec.clusterIPs[]", c.cluster_ip),
        Row("spec.selector", c.string_map),
        Row("spec.ports", c.sequence),
        Row("spec.ports[]", c.mapping),
        Row("spec.ports[].port", c.port_number, required=True),
        Row("spec.ports[].protocol", c.protocol),
        Row("spec.ports[].name", c.dns_label),
        Row("spec.ports[].targetPort", c.int_or_port_name),
        Row("spec.ports[].nodePort", c.port_number),
        Row("spec.externalIPs", c.sequence),
        Row("spec.externalIPs[]", c.ip),
        Row("spec.sessionAffinity", c.one_of("None", "ClientIP")),
        Row("spec.externalTrafficPolicy", c.one_of("Cluster", "Local")),
        Row("spec.internalTrafficPolicy", c.one_of("Cluster", "Local")),
        Row("spec.loadBalancerSourceRanges", c.sequence),
        Row("spec.loadBalancerSourceRanges[]", c.cidr),
        Row("spec.externalName", c.string),
        Row("spec.publishNotReadyAddresses", c.boolean),
    ),
    "EndpointSlice": (
        Row("addressType", c.one_of("IPv4", "IPv6", "FQDN"), required=True),
        Row("endpoints", c.sequence),
        Row("endpoints[]", c.mapping),
        Row("endpoints[].addresses", c.sequence, required=True),
        Row("endpoints[].addresses[]", c.string),
        Row("endpoints[].conditions", c.mapping),
        Row("endpoints[].conditions.ready", c.boolean),
        Row("endpoints[].conditions.serving", c.boolean),
        Row("endpoints[].conditions.terminating", c.boolean),
        Row("endpoints[].nodeName", c.string),
        Row("ports", c.sequence),
        Row("ports[]", c.mapping),
        Row("ports[].port", c.port_number),
        Row("ports[].protocol", c.protocol),
    ),
    "Node": (
        Row("spec", c.mapping),
        Row("spec.podCIDR", c.cidr),
        Row("spec.podCIDRs", c.sequence),
        Row("spec.podCIDRs[]", c.cidr),
        Row("spec.unschedulable", c.boolean),
        Row("spec.taints", c.sequence),
        Row("spec.taints[]", c.mapping),
        Row("spec.taints[].key", c.string, required=True),
        Row("spec.taints[].effect", c.one_of("NoSchedule", "PreferNoSchedule", "NoExecute"), required=True),
        Row("status.addresses", c.sequence),
        Row("status.addresses[].address", c.string, required=True),
        Row("status.capacity", c.quantity_map),
        Row("status.allocatable", c.quantity_map),
    ),
    "PersistentVolumeClaim": (
        Row("spec", c.mapping),
        Row("spec.accessModes", c.sequence),
        Row("spec.resources.requests", c.quantity_map),
        Row("spec.selector", c.label_selector),
        Row("spec.storageClassName", c.string),
    ),
    "PersistentVolume": (
        Row("spec", c.mapping),
        Row("spec.capacity", c.quantity_map),
        Row("spec.accessModes", c.sequence),
        Row("spec.persistentVolumeReclaimPolicy", c.one_of("Retain", "Delete", "Recycle")),
        Row("spec.storageClassName", c.string),
    ),
    "StorageClass": (
        Row("provisioner", c.string, required=True),
        Row("reclaimPolicy", c.one_of("Retain", "Delete")),
        Row("volumeBindingMode", c.one_of("Immediate", "WaitForFirstConsumer")),
        Row("allowVolumeExpansion", c.boolean),
    ),
    "VolumeAttachment": (
        Row("spec", c.mapping, required=True),
        Row("spec.attacher", c.string, required=True),
        Row("spec.nodeName", c.string, required=True),
        Row("spec.source", c.mapping, required=True),
    ),
    "NetworkPolicy": (
        Row("spec", c.mapping),
        Row("spec.podSelector", c.label_selector),
        Row("spec.policyTypes", c.sequence),
        Row("spec.policyTypes[]", c.one_of("Ingress", "Egress")),
        Row("spec.ingress", c.sequence),
        Row("spec.egress", c.sequence),
    ),
    "PodDisruptionBudget": (
        Row("spec", c.disruption_budget_spec),
        Row("spec.minAvailable", c.int_or_percent),
        Row("spec.maxUnavailable", c.int_or_percent),
        Row("spec.selector", c.label_selector),
        Row("spec.unhealthyPodEvictionPolicy", c.one_of("IfHealthyBudget", "AlwaysAllow")),
    ),
    "PriorityClass": (
        Row("value", c.integer, required=True),
        Row("globalDefault", c.boolean),
        Row("preemptionPolicy", c.one_of("PreemptLowerPriority", "Never")),
    ),
    "Ingress": (
        Row("spec", c.mapping),
        Row("spec.ingressClassName", c.string),
        Row("spec.rules", c.sequence),
        Row("spec.rules[]", c.mapping),
        Row("spec.rules[].host", c.string),
        # L7 (issue #11): what ingress-nginx's emulation reads (netsim/l7/ingress.py)
        Row("spec.defaultBackend", c.mapping),
        Row("spec.defaultBackend.service", c.mapping),
        Row("spec.defaultBackend.service.name", c.dns_label, required=True),
        Row("spec.defaultBackend.service.port", c.mapping),
        Row("spec.defaultBackend.service.port.number", c.port_number),
        Row("spec.defaultBackend.service.port.name", c.string),
        Row("spec.tls", c.sequence),
        Row("spec.tls[]", c.mapping),
        Row("spec.tls[].hosts", c.sequence),
        Row("spec.tls[].hosts[]", c.string),
        Row("spec.tls[].secretName", c.string),
        Row("spec.rules[].http", c.mapping),
        Row("spec.rules[].http.paths", c.sequence, required=True),
        Row("spec.rules[].http.paths[]", c.mapping),
        Row("spec.rules[].http.paths[].path", c.string),
        Row("spec.rules[].http.paths[].pathType", c.one_of("Exact", "Prefix", "ImplementationSpecific"),
            required=True),
        Row("spec.rules[].http.paths[].backend", c.mapping, required=True),
        Row("spec.rules[].http.paths[].backend.service", c.mapping),
        Row("spec.rules[].http.paths[].backend.service.name", c.dns_label, required=True),
        Row("spec.rules[].http.paths[].backend.service.port", c.mapping),
        Row("spec.rules[].http.paths[].backend.service.port.number", c.port_number),
        Row("spec.rules[].http.paths[].backend.service.port.name", c.string),
    ),
    "IngressClass": (
        Row("spec", c.mapping),
        Row("spec.controller", c.string),
    ),
    "GatewayClass": (
        Row("spec", c.mapping, required=True),
        Row("spec.controllerName", c.string, required=True),
    ),
    "Gateway": (
        Row("spec", c.mapping, required=True),
        Row("spec.gatewayClassName", c.string, required=True),
        Row("spec.listeners", c.sequence, required=True),
        Row("spec.listeners[]", c.mapping),
        Row("spec.listeners[].name", c.dns_label, required=True),
        Row("spec.listeners[].port", c.port_number, required=True),
        Row("spec.listeners[].protocol", c.one_of("HTTP", "HTTPS", "TLS", "TCP", "UDP"), required=True),
        Row("spec.listeners[].hostname", c.string),
        Row("spec.listeners[].allowedRoutes", c.mapping),
        Row("spec.listeners[].allowedRoutes.namespaces", c.mapping),
        Row("spec.listeners[].allowedRoutes.namespaces.from", c.one_of("All", "Same", "Selector")),
        Row("spec.listeners[].allowedRoutes.namespaces.selector", c.label_selector),
        Row("spec.listeners[].allowedRoutes.kinds", c.sequence),
    ),
    "HTTPRoute": (
        Row("spec", c.mapping, required=True),
        Row("spec.parentRefs", c.sequence),
        Row("spec.parentRefs[]", c.mapping),
        Row("spec.parentRefs[].name", c.string, required=True),
        Row("spec.parentRefs[].port", c.port_number),
        Row("spec.hostnames", c.sequence),
        Row("spec.hostnames[]", c.string),
        Row("spec.rules", c.sequence),
        Row("spec.rules[]", c.mapping),
        Row("spec.rules[].matches", c.sequence),
        Row("spec.rules[].matches[]", c.mapping),
        Row("spec.rules[].matches[].path", c.mapping),
        Row("spec.rules[].matches[].path.type", c.one_of("Exact", "PathPrefix", "RegularExpression")),
        Row("spec.rules[].matches[].path.value", c.string),
        Row("spec.rules[].matches[].method",
            c.one_of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")),
        Row("spec.rules[].matches[].headers", c.sequence),
        Row("spec.rules[].matches[].headers[].type", c.one_of("Exact", "RegularExpression")),
        Row("spec.rules[].matches[].headers[].name", c.string, required=True),
        Row("spec.rules[].matches[].headers[].value", c.string, required=True),
        Row("spec.rules[].matches[].queryParams", c.sequence),
        Row("spec.rules[].matches[].queryParams[].type", c.one_of("Exact", "RegularExpression")),
        Row("spec.rules[].matches[].queryParams[].name", c.string, required=True),
        Row("spec.rules[].matches[].queryParams[].value", c.string, required=True),
        Row("spec.rules[].filters", c.sequence),
        Row("spec.rules[].filters[]", c.mapping),
        Row("spec.rules[].filters[].type", c.string, required=True),
        Row("spec.rules[].backendRefs", c.sequence),
        Row("spec.rules[].backendRefs[]", c.mapping),
        Row("spec.rules[].backendRefs[].name", c.string, required=True),
        Row("spec.rules[].backendRefs[].port", c.port_number),
        Row("spec.rules[].backendRefs[].weight", c.in_range(0, 1000000)),
    ),
    "TCPRoute": _l4_route(),
    "UDPRoute": _l4_route(),
    "ReferenceGrant": (
        Row("spec", c.mapping, required=True),
        Row("spec.from", c.sequence, required=True),
        Row("spec.from[]", c.mapping),
        Row("spec.from[].kind", c.string, required=True),
        Row("spec.from[].namespace", c.string, required=True),
        Row("spec.to", c.sequence, required=True),
        Row("spec.to[]", c.mapping),
        Row("spec.to[].kind", c.string, required=True),
    ),
    "ConfigMap": (Row("data", c.string_map),),
    "Secret": (Row("data", c.string_map), Row("stringData", c.string_map), Row("type", c.string)),
}


def rows_for(kind: str) -> tuple[Row, ...]:
    """Every rule that applies to an object of `kind`: metadata first, then the kind's own."""
    return METADATA + SCHEMA.get(kind, ())
