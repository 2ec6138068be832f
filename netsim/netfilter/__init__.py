"""Generic netfilter: iptables-save text in, packets through, conntrack and NAT.

Knows nothing of Kubernetes. Load a dump with `parse_ruleset(text)`, give it
to a `NetfilterEngine` and call `run_hook` at each hook point (see hooks.py
and README.md).
"""

from netsim.netfilter.conntrack import ConntrackTable
from netsim.netfilter.engine import Branch, NetfilterEngine
from netsim.netfilter.errors import NetfilterError, RulesetParseError
from netsim.netfilter.hooks import Hook, HookResult, HookRunner, Verdict
from netsim.netfilter.ruleset import Rule, Ruleset, parse_rule, parse_ruleset
from netsim.netfilter.trace import TraceStep

__all__ = [
    "Branch",
    "ConntrackTable",
    "Hook",
    "HookResult",
    "HookRunner",
    "NetfilterEngine",
    "NetfilterError",
    "Rule",
    "Ruleset",
    "RulesetParseError",
    "TraceStep",
    "Verdict",
    "parse_rule",
    "parse_ruleset",
]
