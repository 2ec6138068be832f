"""The add-ons kubeadm installs with a cluster: CoreDNS (the coredns Deployment, its ConfigMap and ServiceAccount, the kube-dns Service);
and the L7 controllers the manifests ask for: ingress-nginx, Envoy Gateway's per-Gateway proxies; and kind's
default StorageClass `standard` (default_storage_class).

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

import hashlib
from collections.abc import Sequence

from netsim.api.load import Manifest
from netsim.api.meta import ObjectKey
from netsim.api.store import Store
from netsim.api.topology import LABEL_OS, TAINT_CONTROL_PLANE, Topology
from netsim.l7.alb import ALB_CONTROLLER
from netsim.l7.ingress import NGINX_CONTROLLER
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
    """Create kubeadm's CoreDNS objects (unless installCoreDNS is false) and the L7 controllers the manifests ask
    for (ingress_nginx_wanted, envoy_gateway_manifests), each only where the manifests do not already hold it."""
    given = {m.obj.key for m in manifests}
    wanted = list(coredns_manifests(topology)) if topology.install_coredns else []
    objects = [m.obj for m in manifests]
    if topology.ingress_controller == "nginx":
        wanted += ingress_nginx_manifests(topology) + [ingress_class("nginx", NGINX_CONTROLLER)]
    elif ingress_nginx_wanted(objects):
        wanted += ingress_nginx_manifests(topology)
    if topology.ingress_controller == "alb":
        wanted.append(ingress_class("alb", ALB_CONTROLLER))
    wanted += envoy_gateway_manifests(topology, objects)
    for data in wanted:
        meta = data["metadata"]
        key = ObjectKey(data["kind"], meta.get("namespace", ""), meta["name"])
        if key not in given and store.try_get(key.kind, key.name, key.namespace) is None:
            store.create(data)
    standard = default_storage_class(store.now())
    if ObjectKey("StorageClass", "", "standard") not in given and store.try_get("StorageClass", "standard") is None:
        store.create(standard, restore=True)   # its uid is fixed: the apiserver's generator draws nothing


def default_storage_class(now: str) -> dict:
    """kind's default StorageClass `standard` (rancher.io/local-path, WaitForFirstConsumer, Delete).

    kind installs it with local-path-provisioner; netsim's volume controller plays the provisioner, so the
    local-path-storage Deployment is not created. The uid is derived from the name, so adding the class
    changes no other object's generated uid or name.
    """
    digest = hashlib.sha256(b"storageclass/standard").hexdigest()
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "uid": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-"
                                                   f"{digest[20:32]}", "creationTimestamp": now,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}


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


# --- ingress-nginx ------------------------------------------------------------------------------------------
#
# Installed when the manifests hold an IngressClass whose spec.controller is
# k8s.io/ingress-nginx (the class is the user's statement that this controller
# serves their Ingresses; netsim has no other way to know which controller runs).
# The objects follow ingress-nginx v1.11's deploy/static/provider/cloud/deploy.yaml
# (a LoadBalancer Service with externalTrafficPolicy Local) when the topology
# has a loadBalancerPool, else provider/baremetal (a NodePort Service): the
# Namespace, ServiceAccount, controller Deployment (one replica) and Service.
# RBAC, the admission webhook and its Jobs change nothing netsim emulates.

INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_CONTROLLER = "ingress-nginx-controller"
INGRESS_IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.11.3"
INGRESS_LABELS = {"app.kubernetes.io/component": "controller", "app.kubernetes.io/instance": "ingress-nginx",
                  "app.kubernetes.io/name": "ingress-nginx"}


def ingress_class(name: str, controller: str) -> dict:
    """The IngressClass a controller's chart creates (not the default class, as both charts ship it)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": name},
            "spec": {"controller": controller}}


def ingress_nginx_wanted(objects) -> bool:
    """True when the manifests hold an IngressClass for k8s.io/ingress-nginx."""
    return any(o.kind == "IngressClass" and o.spec.get("controller") == NGINX_CONTROLLER for o in objects)


def ingress_nginx_manifests(topology: Topology) -> list[dict]:
    """ingress-nginx's Namespace, ServiceAccount, controller Deployment and Service (cloud or baremetal)."""
    part_of = {"app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/name": "ingress-nginx"}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": INGRESS_NAMESPACE, "labels": part_of}}
    account = {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "ingress-nginx", "namespace": INGRESS_NAMESPACE, "labels": part_of}}
    cloud = topology.load_balancer_pool is not None
    spec: dict = {"ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                  "ports": [{"appProtocol": "http", "name": "http", "port": 80, "protocol": "TCP",
                             "targetPort": "http"},
                            {"appProtocol": "https", "name": "https", "port": 443, "protocol": "TCP",
                             "targetPort": "https"}],
                  "selector": dict(INGRESS_LABELS), "type": "LoadBalancer" if cloud else "NodePort"}
    if cloud:
        spec["externalTrafficPolicy"] = "Local"
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": INGRESS_CONTROLLER, "namespace": INGRESS_NAMESPACE, "labels": dict(INGRESS_LABELS)},
               "spec": spec}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": INGRESS_CONTROLLER, "namespace": INGRESS_NAMESPACE, "labels": dict(INGRESS_LABELS)},
        "spec": {
            "minReadySeconds": 0, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(INGRESS_LABELS)},
            "strategy": {"rollingUpdate": {"maxUnavailable": 1}, "type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": dict(INGRESS_LABELS)},
                "spec": {
                    "containers": [{
                        "name": "controller", "image": INGRESS_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "args": ["/nginx-ingress-controller",
                                 f"--publish-service=$(POD_NAMESPACE)/{INGRESS_CONTROLLER}",
                                 "--election-id=ingress-nginx-leader",
                                 f"--controller-class={NGINX_CONTROLLER}", "--ingress-class=nginx",
                                 f"--configmap=$(POD_NAMESPACE)/{INGRESS_CONTROLLER}",
                                 "--validating-webhook=:8443",
                                 "--validating-webhook-certificate=/usr/local/certificates/cert",
                                 "--validating-webhook-key=/usr/local/certificates/key"],
                        "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"},
                                  {"containerPort": 443, "name": "https", "protocol": "TCP"},
                                  {"containerPort": 8443, "name": "webhook", "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "90Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 10254, "scheme": "HTTP"},
                                           "failureThreshold": 3, "initialDelaySeconds": 10, "periodSeconds": 10},
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "nodeSelector": {LABEL_OS: "linux"},
                    "serviceAccountName": "ingress-nginx",
                    "terminationGracePeriodSeconds": 300,
                },
            },
        },
    }
    return [namespace, account, service, deployment]


def is_ingress_nginx_pod(pod) -> bool:
    """True for a pod of the ingress-nginx controller Deployment (its labels in the ingress-nginx namespace)."""
    return pod.namespace == INGRESS_NAMESPACE and all(pod.labels.get(k) == v for k, v in INGRESS_LABELS.items())


# --- Envoy Gateway ------------------------------------------------------------------------------------------
#
# For every Gateway of a GatewayClass whose controllerName is Envoy Gateway's,
# the proxy Envoy Gateway's infrastructure provider creates (v1.2,
# internal/infrastructure/kubernetes/proxy): a Deployment and a Service named
# envoy-<gateway namespace>-<gateway name>-<hash> in envoy-gateway-system,
# labelled with the owning Gateway; one Service port per listener port, whose
# container port is the listener port, or port + 10000 below 1024 (Envoy runs
# unprivileged); a LoadBalancer Service with externalTrafficPolicy Local
# (NodePort without a loadBalancerPool).

ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
ENVOY_NAMESPACE = "envoy-gateway-system"
ENVOY_IMAGE = "docker.io/envoyproxy/envoy:distroless-v1.31.2"
OWNER_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNER_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"


def envoy_container_port(port: int) -> int:
    """The proxy's container port for a listener port (privileged ports shifted by 10000)."""
    return port + 10000 if port < 1024 else port


def envoy_proxy_name(namespace: str, name: str) -> str:
    """envoy-<namespace>-<name>-<first 8 hex digits of SHA-256 of namespace/name>."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:8]
    return f"envoy-{namespace}-{name}-{digest}"


def envoy_gateway_manifests(topology: Topology, objects) -> list[dict]:
    """The envoy-gateway-system Namespace and, per Gateway of an Envoy Gateway class, its proxy Deployment, Service."""
    classes = {o.name for o in objects if o.kind == "GatewayClass" and o.spec.get("controllerName") == ENVOY_CONTROLLER}
    gateways = sorted((o for o in objects if o.kind == "Gateway" and o.spec.get("gatewayClassName") in classes),
                      key=lambda g: (g.namespace or "default", g.name))
    if not gateways:
        return []
    out: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ENVOY_NAMESPACE}}]
    cloud = topology.load_balancer_pool is not None
    for gw in gateways:
        ns = gw.namespace or "default"
        name = envoy_proxy_name(ns, gw.name)
        labels = {"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway",
                  "app.kubernetes.io/name": "envoy", OWNER_NAME: gw.name, OWNER_NAMESPACE: ns}
        ports: dict[tuple[int, str], str] = {}
        for listener in gw.spec.get("listeners") or ():
            proto = "UDP" if listener.get("protocol") == "UDP" else "TCP"
            ports.setdefault((int(listener["port"]), proto), listener.get("name", ""))
        container_ports = [{"containerPort": envoy_container_port(p), "name": f"{proto.lower()}-{p}", "protocol": proto}
                           for (p, proto) in sorted(ports)]
        service_ports = [{"name": f"{proto.lower()}-{p}", "port": p, "protocol": proto,
                          "targetPort": envoy_container_port(p)} for (p, proto) in sorted(ports)]
        spec: dict = {"type": "LoadBalancer" if cloud else "NodePort", "selector": dict(labels), "ports": service_ports}
        if cloud:
            spec["externalTrafficPolicy"] = "Local"
        out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": ENVOY_NAMESPACE, "labels": dict(labels)},
                    "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                             "template": {"metadata": {"labels": dict(labels)},
                                          "spec": {"containers": [{"name": "envoy", "image": ENVOY_IMAGE,
                                                                   "ports": container_ports}],
                                                   "terminationGracePeriodSeconds": 360}}}})
        out.append({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": ENVOY_NAMESPACE, "labels": dict(labels)}, "spec": spec})
    return out


def envoy_gateway_of(pod, store: Store):
    """The Gateway an Envoy Gateway proxy pod serves, or None for any other pod."""
    if pod.namespace != ENVOY_NAMESPACE or pod.labels.get("app.kubernetes.io/managed-by") != "envoy-gateway":
        return None
    return store.try_get("Gateway", pod.labels.get(OWNER_NAME, ""), pod.labels.get(OWNER_NAMESPACE, ""))


def reconcile_gateway_status(store: Store) -> None:
    """Envoy Gateway's status writes: GatewayClass Accepted; Gateway addresses, Accepted, Programmed, listeners;
    each attached route's parents (Accepted, ResolvedRefs). Unchanged statuses write nothing."""
    from netsim.l7 import gateway as gwapi

    now = store.now()
    for gc in gwapi.our_classes(store, ENVOY_CONTROLLER):
        _set_status(store, gc, gwapi.gateway_class_status(gc, now))
    for gw in gwapi.our_gateways(store, ENVOY_CONTROLLER):
        svc = store.try_get("Service", envoy_proxy_name(gw.namespace, gw.name), ENVOY_NAMESPACE)
        addresses = tuple(svc.load_balancer_ips) if svc is not None else ()
        _set_status(store, gw, gwapi.gateway_status(store, gw, ENVOY_CONTROLLER, addresses, now))
    for kind in ("HTTPRoute", "TCPRoute", "UDPRoute"):
        for route in store.list(kind):
            parents = gwapi.route_parent_statuses(store, route, ENVOY_CONTROLLER, now)
            if parents:
                _set_status(store, route, {**dict(route.status or {}), "parents": parents})


def _set_status(store: Store, obj, status: dict) -> None:
    """Write `status` on `obj` when it differs."""
    if dict(obj.status or {}) != status:
        store.update(obj.evolve(lambda d: d.__setitem__("status", status)))


def reconcile_ingress_status(store: Store) -> None:
    """ingress-nginx's status sync (--publish-service): each Ingress it serves gets the controller Service's
    load-balancer addresses in status.loadBalancer.ingress (nothing while the Service has none)."""
    from netsim.l7.ingress import served_ingresses

    svc = store.try_get("Service", INGRESS_CONTROLLER, INGRESS_NAMESPACE)
    ips = sorted(svc.load_balancer_ips) if svc is not None else []
    if not ips:
        return
    for ing in served_ingresses(store):
        _set_status(store, ing, {**dict(ing.status or {}), "loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}})


def reconcile_l7_status(store: Store) -> None:
    """Every L7 status write (ingress-nginx's Ingress status, Envoy Gateway's conditions): the controllers' step."""
    reconcile_ingress_status(store)
    reconcile_gateway_status(store)
