"""`kubectl describe` for Jobs and CronJobs.

As describe.go's describeJob (Parallelism only when set, Completions
`<unset>` when not, Suspend as Go's `%v` of a bool: `false`; Start Time,
Completed At and their Duration from the status; Pods Statuses with the Ready
count when status.ready is set; Completed Indexes for an Indexed Job, capped
as capIndexesListOrNone caps it) and describeCronJob (Suspend through
printBoolPtr: `False`; Time Zone, the history limits and Starting Deadline
Seconds `<unset>` when unset; describeJobTemplate's selector, parallelism and
completions; Last Schedule Time; Active Jobs by name). Both reuse the pod
template printer the Deployment describer uses.
"""

from __future__ import annotations

from collections.abc import Mapping

from netsim.api.selector import LabelSelector
from netsim.cli.describe import text as t
from netsim.cli.describe.pod import pod_template
from netsim.cli.tables import human_duration
from netsim.sim.clock import parse_rfc3339

INDEXES_SOFT_LIMIT = 50   # describeJob's capIndexesListOrNone(job.Status.CompletedIndexes, 50)


def go_bool(value: bool) -> str:
    """fmt's `%v` of a Go bool: `true` / `false`."""
    return "true" if value else "false"


def bool_ptr(value: bool | None) -> str:
    """printBoolPtr: `True` / `False`, `<unset>` for a nil pointer."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def cap_indexes(indexes: str | None, soft_limit: int = INDEXES_SOFT_LIMIT) -> str:
    """capIndexesListOrNone: cut after the first comma at or past `soft_limit`, then `...`; `<none>` when empty."""
    if not indexes:
        return "<none>"
    comma = indexes.find(",", soft_limit)
    return indexes if comma < 0 else indexes[:comma + 1] + "..."


def _selector(selector: Mapping | None) -> str:
    """LabelSelectorAsSelector(...).String(): empty for a nil or empty selector."""
    return str(LabelSelector.from_dict(dict(selector or {})))


def describe_job(store, job, now: float) -> str:
    """The text `kubectl describe job NAME` prints."""
    spec, status = job.spec, job.status
    lines = [f"Name:\t{job.name}", f"Namespace:\t{job.namespace}", f"Selector:\t{_selector(spec.get('selector'))}"]
    lines += t.labels("Labels", job.labels)
    lines += t.annotations("Annotations", job.annotations)
    if job.controller_ref is not None:
        lines.append(f"Controlled By:\t{job.controller_ref.kind}/{job.controller_ref.name}")
    if spec.get("parallelism") is not None:
        lines.append(f"Parallelism:\t{spec['parallelism']}")
    completions = spec.get("completions")
    lines.append(f"Completions:\t{completions if completions is not None else '<unset>'}")
    if spec.get("completionMode") is not None:
        lines.append(f"Completion Mode:\t{spec['completionMode']}")
    if spec.get("suspend") is not None:
        lines.append(f"Suspend:\t{go_bool(spec['suspend'])}")
    if spec.get("backoffLimit") is not None:
        lines.append(f"Backoff Limit:\t{spec['backoffLimit']}")
    if spec.get("ttlSecondsAfterFinished") is not None:
        lines.append(f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}")
    started, completed = status.get("startTime"), status.get("completionTime")
    if started:
        lines.append(f"Start Time:\t{t.rfc1123(started)}")
    if completed:
        lines.append(f"Completed At:\t{t.rfc1123(completed)}")
    if started and completed:
        lines.append(f"Duration:\t{human_duration(parse_rfc3339(completed) - parse_rfc3339(started))}")
    if spec.get("activeDeadlineSeconds") is not None:
        lines.append(f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s")
    active, ready = status.get("active", 0), status.get("ready")
    counts = f"{active} Active" if ready is None else f"{active} Active ({ready} Ready)"
    lines.append(f"Pods Statuses:\t{counts} / {status.get('succeeded', 0)} Succeeded / "
                 f"{status.get('failed', 0)} Failed")
    if spec.get("completionMode") == "Indexed":
        lines.append(f"Completed Indexes:\t{cap_indexes(status.get('completedIndexes'))}")
    lines += pod_template(spec.get("template"))
    lines += t.events(t.events_about(store, job), now)
    return t.render(lines)


def _unset(value: object, suffix: str = "") -> str:
    """A pointer field as describeCronJob writes it: the value (with its unit), `<unset>` when nil."""
    return "<unset>" if value is None else f"{value}{suffix}"


def job_template(template: Mapping | None) -> list[str]:
    """describeJobTemplate: selector, parallelism and completions (`<unset>` when nil), deadline, pod template."""
    spec = (template or {}).get("spec") or {}
    selector = spec.get("selector")
    lines = [f"Selector:\t{_selector(selector) if selector is not None else '<unset>'}",
             f"Parallelism:\t{_unset(spec.get('parallelism'))}",
             f"Completions:\t{_unset(spec.get('completions'))}"]
    if spec.get("activeDeadlineSeconds") is not None:
        lines.append(f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s")
    return lines + pod_template(spec.get("template"))


def describe_cronjob(store, cj, now: float) -> str:
    """The text `kubectl describe cronjob NAME` prints."""
    spec, status = cj.spec, cj.status
    lines = [f"Name:\t{cj.name}", f"Namespace:\t{cj.namespace}"]
    lines += t.labels("Labels", cj.labels)
    lines += t.annotations("Annotations", cj.annotations)
    lines += [f"Schedule:\t{spec.get('schedule', '')}",
              f"Concurrency Policy:\t{spec.get('concurrencyPolicy', '')}",
              f"Suspend:\t{bool_ptr(spec.get('suspend'))}",
              f"Time Zone:\t{_unset(spec.get('timeZone'))}",
              f"Successful Job History Limit:\t{_unset(spec.get('successfulJobsHistoryLimit'))}",
              f"Failed Job History Limit:\t{_unset(spec.get('failedJobsHistoryLimit'))}",
              f"Starting Deadline Seconds:\t{_unset(spec.get('startingDeadlineSeconds'), 's')}"]
    lines += job_template(spec.get("jobTemplate"))
    last = status.get("lastScheduleTime")
    lines.append(f"Last Schedule Time:\t{t.rfc1123(last) if last else '<unset>'}")
    lines.append(f"Active Jobs:\t{', '.join(ref.get('name', '') for ref in status.get('active') or []) or '<none>'}")
    lines += t.events(t.events_about(store, cj), now)
    return t.render(lines)
