"""kubeproxy: render a node's iptables rules exactly as kube-proxy (iptables mode) writes them.

Input is kube-proxy's internal view (`model`: `ServicePortInfo`, `EndpointInfo`,
`ProxyConfig`); output is iptables-save text for the filter, nat and mangle
tables, the only thing that crosses to `netfilter/` (and to the kernel in
`live/`). `render(config, services, endpoints)` is the entry point.

Followed revision: kubernetes/kubernetes `pkg/proxy/iptables/proxier.go` as of
the v1.33/v1.34 line (the revision with nfacct counters, `ProxyHealthServer`,
`nodeName`, per-endpoint "svc -> ip:port" comments in KUBE-SVC chains and
`CleanupLeftovers` still in proxier.go), with `pkg/proxy/topology.go`
`CategorizeEndpoints` (PreferSameNode/PreferSameZone hints) and the expected
outputs of that revision's `proxier_test.go` (`TestOverallIPTablesRules`).
IPv4 only.

Modules: `constants` (fixed names, comments, marks, jump table), `names`
(derived chain names), `model` (inputs), `topology` (endpoint selection),
`rules` (iptables-save printing and ordering), `render` (the writers),
`check` (the structure check of kube-proxy's tests). README.md has the picture.
"""

from netsim.kubeproxy.check import check_rule_jumps
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
from netsim.kubeproxy.rules import Order
from netsim.kubeproxy.topology import EndpointCategories, categorize_endpoints

__all__ = [
    "EndpointCategories",
    "EndpointInfo",
    "LocalDetectMode",
    "LocalDetector",
    "Order",
    "Protocol",
    "ProxyConfig",
    "ServicePortInfo",
    "SessionAffinity",
    "categorize_endpoints",
    "check_rule_jumps",
    "plan_service_port",
    "render",
]
