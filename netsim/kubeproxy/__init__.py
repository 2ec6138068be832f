"""kubeproxy: render a node's iptables rules exactly as kube-proxy (iptables mode) writes them.

Input is kube-proxy's internal view (`model`: `ServicePortInfo`, `EndpointInfo`,
`ProxyConfig`); output is kube-proxy's iptables-restore input for the filter,
nat and mangle tables, the only thing that crosses to `netfilter/` (whose
normalizer derives the iptables-save view) and to the kernel in `live/`.
`render(config, services, endpoints)` is the entry point.

Followed revision: kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` as of
the v1.33/v1.34 line (the revision with nfacct counters, `ProxyHealthServer`,
`nodeName`, per-endpoint "svc -> ip:port" comments in KUBE-SVC chains and
`CleanupLeftovers` still in proxier.go), with `pkg/proxy/topology.go`
`CategorizeEndpoints` (PreferSameNode/PreferSameZone hints) and the expected
outputs of that revision's `proxier_test.go` (`TestOverallIPTablesRules`).
IPv4 only.

Modules: `config` (KubeProxyConfiguration: defaults, validation, per-Node
ProxyConfig), `constants` (fixed names, comments, marks, jump table), `names`
(derived chain names), `model` (inputs), `topology` (endpoint selection),
`rules` (kube-proxy's argument form and canonical ordering), `render` (the writers),
`check` (the structure check of kube-proxy's tests). README.md has the picture.
"""

from netsim.kubeproxy.check import check_rule_jumps
from netsim.kubeproxy.config import InvalidProxyConfig, KubeProxyConfiguration, config_from_mapping, load_config_file
from netsim.kubeproxy.model import (
    EndpointInfo,
    LocalDetectMode,
    LocalDetector,
    Protocol,
    ProxyConfig,
    ServicePortInfo,
    SessionAffinity,
)
from netsim.kubeproxy.render import plan_service_port, render
from netsim.kubeproxy.topology import EndpointCategories, categorize_endpoints

__all__ = [
    "EndpointCategories",
    "InvalidProxyConfig",
    "KubeProxyConfiguration",
    "EndpointInfo",
    "LocalDetectMode",
    "LocalDetector",
    "Protocol",
    "ProxyConfig",
    "ServicePortInfo",
    "SessionAffinity",
    "categorize_endpoints",
    "check_rule_jumps",
    "config_from_mapping",
    "load_config_file",
    "plan_service_port",
    "render",
]
