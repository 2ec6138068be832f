"""`apply_manifests`: creating, and updating an existing object as kubectl apply merges it."""

from __future__ import annotations

import numpy as np

from netsim.api.apply import apply_manifests
from netsim.api.load import load_text
from netsim.api.store import Store

CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, labels: {tier: db}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: %s}}
"""


def _store() -> Store:
    return Store(clock=lambda: 1_704_067_200.0, rng=np.random.default_rng(7))


def test_reapplying_keeps_server_set_fields_and_takes_the_new_values() -> None:
    store = _store()
    apply_manifests(store, load_text(CLAIM % "1Gi"))
    store.patch("PersistentVolumeClaim", "data", "default",
                {"spec": {"volumeName": "pv-1", "storageClassName": "standard"}})
    (claim,) = apply_manifests(store, load_text((CLAIM % "2Gi").replace("tier: db", "tier: cache")))
    assert claim.spec["volumeName"] == "pv-1" and claim.spec["storageClassName"] == "standard"
    assert claim.spec["resources"]["requests"]["storage"] == "2Gi"
    assert claim.spec["accessModes"] == ["ReadWriteOnce"]
    assert claim.labels == {"tier": "cache"}


def test_a_per_index_backoff_limit_lifts_the_job_wide_default() -> None:
    job = """\
apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  completionMode: Indexed
  completions: 3%s
  template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}
"""
    store = _store()
    (per_index, plain) = apply_manifests(store, load_text(job % ("p", "\n  backoffLimitPerIndex: 1") + "---\n"
                                                          + job % ("q", "")))
    assert per_index.spec["backoffLimit"] == 2147483647   # SetDefaults_Job: math.MaxInt32
    assert plain.spec["backoffLimit"] == 6
