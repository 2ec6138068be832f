"""The add-ons kubeadm installs with a cluster: CoreDNS (the coredns Deployment, its ConfigMap and ServiceAccount, the kube-dns Service).

The manifests follow kubeadm's cmd/kubeadm/app/phases/addons/dns/manifests.go
(CoreDNSDeployment, CoreDNSConfigMap, CoreDNSServiceAccount, CoreDNSService)
for the Kubernetes version netsim's kubelets report (v1.31: CoreDNS v1.11.3,
two replicas): the Deployment's labels, tolerations (CriticalAddonsOnly and
the control-plane taint), priorityClassName, resources, ports, probes and
dnsPolicy Default; the default Corefile with the topology's cluster domain;
the Service at the topology's cluster DNS address. They are created when the
cluster is built unless the topology says `installCoreDNS: false`; an
object the manifests already hold (a dump of a real cluster) is not created
again. ClusterRole/ClusterRoleBinding are kubeadm's too but change nothing
netsim emulates, so they are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from netsim.api.load import Manifest
from netsim.api.meta import ObjectKey
from netsim.api.store import Store
from netsim.api.topology import LABEL_OS, TAINT_CONTROL_PLANE, Topology
from netsim.dns.corefile import parse_corefile
from netsim.dns.errors import CorefileError
from netsim.dns.server import DnsServer, UpstreamName
from netsim.dns.view import view_from_store
from netsim.sim.rng import Random

NAMESPACE = "kube-system"
DEPLOYMENT = "coredns"
CONFIGMAP = "coredns"
SERVICE_ACCOUNT = "coredns"
SERVICE = "kube-dns"
APP_LABEL = {"k8s-app": "kube-dns"}
IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"   # kubeadm's CoreDNSVersion for v1.31
REPLICAS = 2                                         # kubeadm's coreDNSReplicas
COREFILE_KEY = "Corefile"


def default_corefile(domain: str) -> str:
    """kubeadm's default Corefile (CoreDNSConfigMap) for the cluster domain `domain`."""
    return (
        ".:53 {\n"
        "    errors\n"
        "    health {\n"
        "       lameduck 5s\n"
        "    }\n"
        "    ready\n"
        f"    kubernetes {domain} in-addr.arpa ip6.arpa {{\n"
        "       pods insecure\n"
        "       fallthrough in-addr.arpa ip6.arpa\n"
        "       ttl 30\n"
        "    }\n"
        "    prometheus :9153\n"
        "    forward . /etc/resolv.conf {\n"
        "       max_concurrent 1000\n"
        "    }\n"
        "    cache 30 {\n"
        f"       disable success {domain}\n"
        f"       disable denial {domain}\n"
        "    }\n"
        "    loop\n"
        "    reload\n"
        "    loadbalance\n"
        "}\n"
    )


def coredns_manifests(topology: Topology) -> list[dict]:
    """The ServiceAccount, ConfigMap, Deployment and Service, as kubeadm creates them (in its order)."""
    service_account = {"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
                  "data": {COREFILE_KEY: default_corefile(topology.cluster_domain)}}
    probe_ports = [("liveness-probe", 8080), ("readiness-probe", 8181)]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "labels": dict(APP_LABEL)},
        "spec": {
            "replicas": REPLICAS,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": dict(APP_LABEL)},
            "template": {
                "metadata": {"labels": dict(APP_LABEL)},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchExpressions": [
                                {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                            "topologyKey": "kubernetes.io/hostname"}}]}},
                    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                    {"key": TAINT_CONTROL_PLANE, "effect": "NoSchedule"}],
                    "nodeSelector": {LABEL_OS: "linux"},
                    "containers": [{
                        "name": "coredns",
                        "image": IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
                        "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                  {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                  {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}]
                        + [{"containerPort": port, "name": name, "protocol": "TCP"} for name, port in probe_ports],
                        "livenessProbe": {"httpGet": {"path": "/health", "port": "liveness-probe", "scheme": "HTTP"},
                                          "initialDelaySeconds": 60, "timeoutSeconds": 5, "successThreshold": 1,
                                          "failureThreshold": 5},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "readiness-probe",
                                                       "scheme": "HTTP"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True},
                    }],
                    "dnsPolicy": "Default",
                    "volumes": [{"name": "config-volume", "configMap": {
                        "name": CONFIGMAP, "items": [{"key": COREFILE_KEY, "path": COREFILE_KEY}]}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE,
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "CoreDNS"},
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"clusterIP": str(topology.cluster_dns_ip),
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                 "selector": dict(APP_LABEL)},
    }
    return [service_account, config_map, deployment, service]


def install_addons(store: Store, topology: Topology, manifests: Sequence[Manifest]) -> None:
    """Create kubeadm's CoreDNS objects that the manifests do not already hold (nothing with installCoreDNS false)."""
    if not topology.install_coredns:
        return
    given = {m.obj.key for m in manifests}
    for data in coredns_manifests(topology):
        meta = data["metadata"]
        key = ObjectKey(data["kind"], meta["namespace"], meta["name"])
        if key not in given and store.try_get(key.kind, key.name, key.namespace) is None:
            store.create(data)


def is_coredns_pod(pod) -> bool:
    """True for a pod of the kube-system/coredns Deployment (kubeadm's k8s-app=kube-dns label in kube-system)."""
    return pod.namespace == NAMESPACE and pod.labels.get("k8s-app") == "kube-dns"


def corefile_text(store: Store, domain: str) -> tuple[str, str]:
    """(Corefile text, where it came from): the kube-system/coredns ConfigMap's, else kubeadm's default."""
    cm = store.try_get("ConfigMap", CONFIGMAP, NAMESPACE)
    if cm is None:
        return default_corefile(domain), "kubeadm's default Corefile"
    text = (cm.get("data") or {}).get(COREFILE_KEY)
    if not isinstance(text, str):
        raise CorefileError(f"ConfigMap {NAMESPACE}/{CONFIGMAP}: data.{COREFILE_KEY} is missing")
    return text, f"ConfigMap {NAMESPACE}/{CONFIGMAP} data.{COREFILE_KEY}"


def dns_server_for(cluster, pod) -> DnsServer:
    """The CoreDNS server a coredns pod runs: its Corefile, the cluster as its informers see it now, its pod IP."""
    topology = cluster.topology
    text, source = corefile_text(cluster.store, topology.cluster_domain)
    corefile = parse_corefile(text, source)
    view = view_from_store(cluster.store, int(cluster.clock.now()))
    upstream = tuple(UpstreamName(r.name, tuple(str(a) for a in r.addresses)) for r in topology.upstream_dns)
    return DnsServer(corefile, view, (pod.pod_ip,), upstream, Random(cluster.seed).child(f"coredns/{pod.name}").generator,
                     name=f"coredns in container {pod.containers[0].name}" if pod.containers else "coredns")
