"""A cluster with one of every kind of name the DNS specification covers, and a query helper that sends packets."""

from __future__ import annotations

from pathlib import Path

from netsim.api.load import load_paths, load_text
from netsim.api.topology import load_topology, topology_from_dict
from netsim.dns.message import Message, RRType
from netsim.emulator.cluster import Cluster
from netsim.emulator.dnsquery import DnsClient
from netsim.emulator.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]

# web: a ClusterIP Service with named ports; nginx: headless, the Service of "StatefulSet" pods web-0, web-1
# (made as the StatefulSet controller would: hostname and subdomain set); ext: ExternalName to an upstream
# name; ext-in: ExternalName to a cluster name; empty: a selector that matches nothing; bare: headless
# without ports; team-a: a second namespace.
MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
  - {name: dns, port: 53, targetPort: 53, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: default, labels: {app: web}}
spec:
  nodeName: kind-worker
  containers:
  - name: echo
    image: agnhost
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: default}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports:
  - {name: web, port: 80, protocol: TCP}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: default, labels: {app: nginx}}
spec:
  hostname: web-0
  subdomain: nginx
  nodeName: kind-worker
  containers:
  - {name: nginx, image: nginx, ports: [{containerPort: 80, name: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: nginx}}
spec:
  hostname: web-1
  subdomain: nginx
  nodeName: kind-worker2
  containers:
  - {name: nginx, image: nginx, ports: [{containerPort: 80, name: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: default, labels: {app: nginx}}
spec:
  nodeName: kind-worker2
  containers:
  - {name: nginx, image: nginx, ports: [{containerPort: 80, name: web}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec:
  type: ExternalName
  externalName: example.com
---
apiVersion: v1
kind: Service
metadata: {name: ext-in, namespace: default}
spec:
  type: ExternalName
  externalName: web.default.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: team-a}
spec:
  selector: {app: nothing}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: team-a}
spec:
  nodeName: kind-worker2
  containers:
  - {name: shell, image: agnhost}
  - {name: sidecar, image: agnhost}
"""

TOPOLOGY = {
    "kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
    "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}],
    "netsim": {"upstreamDNS": {"example.com": "93.184.215.14", "dual.example.org": ["192.0.2.7", "2001:db8::7"]}},
}


def build(corefile: str | None = None, extra: str = "", netsim: dict | None = None, seed: int = 0) -> Cluster:
    """The DNS test cluster; `corefile` replaces kubeadm's default."""
    data = {**TOPOLOGY, "netsim": {**TOPOLOGY["netsim"], **(netsim or {})}}
    text = MANIFESTS + extra
    if corefile is not None:
        import json
        text += ("\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\n"
                 f"data:\n  Corefile: {json.dumps(corefile)}\n")
    return Cluster.build(topology_from_dict(data), load_text(text, "dns-test.yaml"), seed=seed)


def client(cluster: Cluster, capture=None) -> DnsClient:
    return DnsClient(Emulator(cluster, capture))


def ask(dns: DnsClient, name: str, qtype: str = "A", origin: str = "pod/team-a/client") -> Message:
    """The reply to one query sent as a packet (it must come back)."""
    result = dns.dig(name, qtype, origin=origin)
    assert result.reply is not None, f"no reply for {name} {qtype}"
    return result.reply


def data(reply: Message, rtype: RRType | None = None) -> list[str]:
    """The answer records' data as text, in order (of one type when given)."""
    from netsim.dns.dig import rdata_text

    return [rdata_text(r) for r in reply.answer if rtype is None or r.type is rtype]


__all__ = ["build", "client", "ask", "data", "load_paths", "load_topology", "ROOT"]
