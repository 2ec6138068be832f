"""`kubectl describe namespace`: identity, phase, the namespace controller's conditions, quotas and limit ranges.

As describe.go's describeNamespace: a Terminating namespace lists the
deletion conditions the namespace controller writes (which resources
remain, which finalizers hold them), then the ResourceQuota and LimitRange
sections after a blank line each. netsim has neither kind, so a namespace
never has one and kubectl's empty-list lines are what it prints.
"""

from __future__ import annotations

from netsim.cli.describe import text as t


def describe_namespace(store, namespace, now: float) -> str:
    """The text `kubectl describe namespace NAME` prints."""
    lines = [f"Name:\t{namespace.name}"]
    lines += t.labels("Labels", namespace.labels)
    lines += t.annotations("Annotations", namespace.annotations)
    lines.append(f"Status:\t{namespace.status.get('phase', '')}")
    conditions = namespace.status.get("conditions") or []
    if conditions:
        lines += ["Conditions:", "  Type\tStatus\tLastTransitionTime\tReason\tMessage",
                  "  ----\t------\t------------------\t------\t-------"]
        lines += [f"  {c.get('type')}\t{c.get('status')}\t{t.rfc1123(c.get('lastTransitionTime'))}\t"
                  f"{c.get('reason', '')}\t{c.get('message', '')}" for c in conditions]
    lines += ["", "No resource quota.", "", "No LimitRange resource."]
    return t.render(lines)
