"""The structure check of kube-proxy's tests (proxier_test.go `checkIPTablesRuleJumps`).

For every table of an iptables-save text: each KUBE-* chain that is jumped to
or has rules is declared; each jumped-to KUBE-* chain has rules (KUBE-NODEPORTS
may be empty); each declared KUBE-* chain is jumped to, except the fixed
top-level chains. netsim's text also carries built-in chains, the kubelet's
KUBE-FIREWALL jumps (the chain may be empty when localhost NodePorts are off)
and the KUBE-PROXY-CANARY chains, which the rules below allow for.
"""

from __future__ import annotations

import shlex

from netsim.kubeproxy import constants as C
from netsim.kubeproxy.errors import KubeProxyError

#: Declared chains that need no jump to them (the Go check's exemption list, plus the canary).
_MAY_BE_UNUSED = frozenset({
    C.KUBE_SERVICES, C.KUBE_EXTERNAL_SERVICES, C.KUBE_NODEPORTS, C.KUBE_POSTROUTING, C.KUBE_FORWARD,
    C.KUBE_MARK_MASQ, C.KUBE_PROXY_FIREWALL, C.KUBE_FIREWALL, C.KUBE_PROXY_CANARY,
})
#: Jumped-to chains that may have no rules.
_MAY_BE_EMPTY = frozenset({C.KUBE_NODEPORTS, C.KUBE_FIREWALL})


class RuleStructureError(KubeProxyError):
    """A ruleset jumps to a missing or empty chain, or declares a chain nothing uses."""


def parse_tables(text: str) -> dict[str, tuple[set[str], dict[str, list[list[str]]]]]:
    """table → (declared chains, chain → list of rule argument lists)."""
    tables: dict[str, tuple[set[str], dict[str, list[list[str]]]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            current = tables.setdefault(line[1:], (set(), {}))
        elif current is None:
            raise RuleStructureError(f"rule outside a table: {line}")
        elif line.startswith(":"):
            current[0].add(line[1:].split()[0])
        elif line.startswith("-A "):
            args = shlex.split(line)
            current[1].setdefault(args[1], []).append(args[2:])
        else:
            raise RuleStructureError(f"unexpected line: {line}")
    return tables


def _jump_target(args: list[str]) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg in ("-j", "--jump", "-g", "--goto"):
            return args[i + 1]
    return None


def rule_jump_problems(text: str) -> list[str]:
    """Every structural problem of `text`, one message each (empty when sound)."""
    problems = []
    for name, (created, rules) in parse_tables(text).items():
        filled = {c for c, rs in rules.items() if rs and c.startswith("KUBE-")}
        jumped = {t for rs in rules.values() for r in rs
                  if (t := _jump_target(r)) is not None and t.startswith("KUBE-")}
        # Jumps from built-in chains lead to fixed chains, which may be empty.
        jumped_from_kube = {t for c, rs in rules.items() if c.startswith("KUBE-") for r in rs
                            if (t := _jump_target(r)) is not None and t.startswith("KUBE-")}
        missing = (jumped | filled) - created
        if missing:
            problems.append(f"some chains in {name} are used but were not created: {sorted(missing)}")
        empty = jumped_from_kube - filled - _MAY_BE_EMPTY
        if empty:
            problems.append(f"some chains in {name} are jumped to but have no rules: {sorted(empty)}")
        extra = {c for c in created if c.startswith("KUBE-")} - jumped - _MAY_BE_UNUSED
        if extra:
            problems.append(f"some chains in {name} are created but not used: {sorted(extra)}")
    return problems


def check_rule_jumps(text: str) -> None:
    """Raise RuleStructureError listing every problem `rule_jump_problems` finds."""
    problems = rule_jump_problems(text)
    if problems:
        raise RuleStructureError("; ".join(problems))
