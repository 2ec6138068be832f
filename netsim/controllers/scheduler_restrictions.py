"""The scheduler's VolumeRestrictions filter, its ReadWriteOncePod part: one pod at a time per such claim.

As kube-scheduler's volumerestrictions plugin (v1.31): PreFilter collects the pod's claims whose
spec.accessModes hold ReadWriteOncePod and counts those already used by a pod in the snapshot
(IsPVCUsedByPods: any scheduled or assumed pod, on any node); Filter then rejects every node with
Unschedulable `node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod
access mode` while the count is above zero. Being Unschedulable (not UnschedulableAndUnresolvable),
preemption may evict the pod holding the claim: its dry run rebuilds the state from a snapshot without
the victims (the plugin's RemovePod). The in-tree disk-conflict half (GCE PD, EBS, iSCSI, RBD inline
volumes) is not built: those sources are not emulated.
"""

from __future__ import annotations

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.controllers.scheduler_snapshot import Snapshot

READ_WRITE_ONCE_POD_CONFLICT = ("node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod "
                                "access mode")


def _claims(pod: Pod) -> set[str]:
    return {v["persistentVolumeClaim"]["claimName"] for v in pod.spec.get("volumes") or ()
            if (v.get("persistentVolumeClaim") or {}).get("claimName")}


def prefilter(store: Store, pod: Pod, snapshot: Snapshot) -> int:
    """calPreFilterState: how many of the pod's ReadWriteOncePod claims a pod in the snapshot already uses."""
    exclusive = set()
    for name in _claims(pod):
        claim = store.try_get("PersistentVolumeClaim", name, pod.namespace)
        if claim is not None and "ReadWriteOncePod" in (claim.spec.get("accessModes") or ()):
            exclusive.add(name)
    if not exclusive:
        return 0
    used = {name for info in snapshot.nodes() for p in info.pods if p.namespace == pod.namespace
            for name in _claims(p)}
    return len(exclusive & used)


def filter_reasons(conflicts: int) -> list[str]:
    """satisfyReadWriteOncePod: the reason every node fails while a conflict is counted, else none."""
    return [READ_WRITE_ONCE_POD_CONFLICT] if conflicts > 0 else []
