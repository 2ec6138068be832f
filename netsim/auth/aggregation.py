"""The clusterrole-aggregation controller (kubernetes pkg/controller/clusterroleaggregation): a ClusterRole with an
`aggregationRule` gets the rules of every other ClusterRole its selectors match.

Per aggregated role, for each selector in order, the matching ClusterRoles
sorted by name contribute their rules, each rule added once (semantic
equality), the role itself skipped. `reconcile(store)` writes the result into
the store as the controller does; `effective_cluster_roles(store)` computes
the same without writing (the authorizer reads through it). Roles that
aggregate aggregated roles settle over repeated passes, as the controller's
requeues do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netsim.api.selector import LabelSelector
from netsim.api.store import Store
from netsim.auth.bootstrap import CLUSTER_ROLES

MAX_PASSES = 16


def _aggregate_once(roles: Mapping[str, dict]) -> dict[str, dict]:
    out = dict(roles)
    for name in sorted(roles):
        rule = roles[name].get("aggregationRule")
        if not rule:
            continue
        rules: list[Any] = []
        for selector in rule.get("clusterRoleSelectors") or ():
            chosen = LabelSelector.from_dict(selector)
            for other in sorted(roles):
                if other == name or not chosen.matches((roles[other].get("metadata") or {}).get("labels") or {}):
                    continue
                for r in roles[other].get("rules") or ():
                    if r not in rules:
                        rules.append(r)
        if rules != (roles[name].get("rules") or []):
            out[name] = {**roles[name], "rules": rules}
    return out


def aggregated(roles: Mapping[str, dict]) -> dict[str, dict]:
    """ClusterRole dicts by name with every aggregationRule filled in (repeated until nothing changes)."""
    current = dict(roles)
    for _ in range(MAX_PASSES):
        nxt = _aggregate_once(current)
        if nxt == current:
            return nxt
        current = nxt
    return current


def _stored_and_bootstrap(store: Store) -> dict[str, dict]:
    roles = {r["metadata"]["name"]: r for r in CLUSTER_ROLES}
    roles.update({r.name: r.to_dict() for r in store.list("ClusterRole")})
    return roles


def effective_cluster_roles(store: Store) -> dict[str, tuple]:
    """Rules per ClusterRole name (store and bootstrap policy), aggregation applied, as PolicyRule tuples."""
    from netsim.auth.rbac import PolicyRule  # rbac.py imports this module

    return {name: tuple(PolicyRule.from_dict(r) for r in role.get("rules") or ())
            for name, role in aggregated(_stored_and_bootstrap(store)).items()}


def reconcile(store: Store) -> int:
    """One controller pass: write the aggregated rules of every aggregated ClusterRole in the store; returns updates."""
    stored = {r.name: r for r in store.list("ClusterRole")}
    result = aggregated(_stored_and_bootstrap(store))
    changed = 0
    for name, obj in sorted(stored.items()):
        if obj.to_dict().get("aggregationRule") and (obj.to_dict().get("rules") or []) != result[name].get("rules"):
            rules = result[name].get("rules")
            store.update(obj.evolve(lambda d: d.__setitem__("rules", rules)))
            changed += 1
    return changed
