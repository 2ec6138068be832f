"""`kubectl describe` for PodDisruptionBudgets.

As describe.go's describePodDisruptionBudgetV1: Min available, else Max
unavailable (an IntOrString: `2` or `50%`), the selector as
metav1.FormatLabelSelector writes it (`<unset>` without one), then the
disruption controller's status counts under `Status:` and the events. Labels
and annotations are not printed; kubectl doesn't print them either.
"""

from __future__ import annotations

from netsim.cli.describe import text as t
from netsim.cli.describe.pod import selector_text


def describe_pdb(store, pdb, now: float) -> str:
    """The text `kubectl describe pdb NAME` prints."""
    spec, status = pdb.spec, pdb.status
    lines = [f"Name:\t{pdb.name}", f"Namespace:\t{pdb.namespace}"]
    if spec.get("minAvailable") is not None:
        lines.append(f"Min available:\t{spec['minAvailable']}")
    elif spec.get("maxUnavailable") is not None:
        lines.append(f"Max unavailable:\t{spec['maxUnavailable']}")
    selector = spec.get("selector")
    lines.append(f"Selector:\t{selector_text(selector) if selector is not None else '<unset>'}")
    lines += ["Status:",
              f"    Allowed disruptions:\t{status.get('disruptionsAllowed', 0)}",
              f"    Current:\t{status.get('currentHealthy', 0)}",
              f"    Desired:\t{status.get('desiredHealthy', 0)}",
              f"    Total:\t{status.get('expectedPods', 0)}"]
    lines += t.events(t.events_about(store, pdb), now)
    return t.render(lines)
