"""Derived chain names: one function per kind, each mirroring a proxier.go function.

Every per-service chain is a prefix plus the first 16 characters of the
standard base32 encoding (RFC 4648 alphabet, `=` padding) of
sha256(service port name string + lower-case protocol [+ endpoint "ip:port"]).
Sixteen characters keep names under iptables' 28-character limit.

The service port name string is `namespace/name:portname`, or
`namespace/name` when the port is unnamed (proxy.ServicePortName.String()).
"""

from __future__ import annotations

import base64
import hashlib

from netsim.kubeproxy.constants import EXT_PREFIX, FW_PREFIX, SEP_PREFIX, SVC_PREFIX, SVL_PREFIX


def service_port_name_string(namespace: str, name: str, port_name: str) -> str:
    """`ns/name:port` (or `ns/name` for an unnamed port), as proxy.ServicePortName.String()."""
    base = f"{namespace}/{name}"
    return f"{base}:{port_name}" if port_name else base


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """The 16-character hash shared by a service port's chains (proxier.go `portProtoHash`).

    `protocol` is lower-case ("tcp", "udp", "sctp").
    """
    return _hash16(service_port_name + protocol)


def _hash16(text: str) -> str:
    """The first 16 base32 characters of sha256(text): base32 turns each 5 bytes into 8
    characters on its own, so the digest's first 10 bytes give exactly those 16."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()[:10]).decode("ascii")


def service_port_policy_cluster_chain(service_port_name: str, protocol: str) -> str:
    """KUBE-SVC-…: dispatch to all usable endpoints, "Cluster" traffic policy.

    Mirrors proxier.go `servicePortPolicyClusterChain`.
    """
    return SVC_PREFIX + port_proto_hash(service_port_name, protocol)


def service_port_policy_local_chain_name(service_port_name: str, protocol: str) -> str:
    """KUBE-SVL-…: dispatch to this node's endpoints, "Local" traffic policy.

    Mirrors proxier.go `servicePortPolicyLocalChainName`.
    """
    return SVL_PREFIX + port_proto_hash(service_port_name, protocol)


def service_firewall_chain_name(service_port_name: str, protocol: str) -> str:
    """KUBE-FW-…: loadBalancerSourceRanges filtering for LB IPs.

    Mirrors proxier.go `serviceFirewallChainName`.
    """
    return FW_PREFIX + port_proto_hash(service_port_name, protocol)


def service_external_chain_name(service_port_name: str, protocol: str) -> str:
    """KUBE-EXT-…: entry for external destinations (NodePort, external IP, LB IP).

    Mirrors proxier.go `serviceExternalChainName`.
    """
    return EXT_PREFIX + port_proto_hash(service_port_name, protocol)


def service_port_endpoint_chain_name(service_port_name: str, protocol: str, endpoint: str) -> str:
    """KUBE-SEP-…: one endpoint's chain (hairpin masquerade, then DNAT).

    `endpoint` is "ip:port" (IPv6 as "[ip]:port"). Mirrors proxier.go
    `servicePortEndpointChainName`.
    """
    return SEP_PREFIX + _hash16(service_port_name + protocol + endpoint)


def is_service_chain_name(chain: str) -> bool:
    """Whether `chain` is a per-service chain kube-proxy owns (proxier.go `isServiceChainName`)."""
    return chain.startswith((SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX))
