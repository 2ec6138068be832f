"""`netsim describe`: kubectl describe's text for pods, claims, volumes, classes, namespaces, nodes, workloads,
services, Jobs, CronJobs, PodDisruptionBudgets, ConfigMaps, Secrets, Endpoints and EndpointSlices.

Each describer's whole output is a golden file (tests/golden/describe/), so a
column that moves by one space fails; the namespace conditions table is
checked line for line against a real `kubectl describe ns` of a stuck
namespace (kubernetes/kubernetes issue output quoted below).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from netsim.api.errors import NotFound
from netsim.api.load import load_text
from netsim.api.objects import make_object
from netsim.api.topology import load_topology
from netsim.cli import describe
from netsim.cli.describe import text
from netsim.emulator.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: team, labels: {tier: backend}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: zonal, annotations: {example.com/owner: storage-team}}
provisioner: ebs.csi.aws.com
parameters: {type: gp3}
volumeBindingMode: WaitForFirstConsumer
allowedTopologies:
- matchLabelExpressions:
  - {key: topology.kubernetes.io/zone, values: [zone-a, zone-b]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: zonal
  resources: {requests: {storage: 1024Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        ports: [{containerPort: 80, name: http}, {containerPort: 9090}]
        env: [{name: MODE, value: prod}, {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        resources: {requests: {cpu: 250m, memory: 128Mi}, limits: {memory: 256Mi}}
        readinessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 5}
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: team}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
  volumeClaimTemplates:
  - metadata: {name: pgdata}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: zonal
      resources: {requests: {storage: 2Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: team}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{operator: Exists}]
      containers: [{name: agent, image: busybox:1.36, command: [sleep, infinity]}]
"""


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    built = Cluster.build(load_topology(ROOT / "topologies/three-zone.yaml"), load_text(APP, "app.yaml"), seed=0)
    built.advance(90)
    return built


def show(cluster: Cluster, kind: str, name: str, namespace: str = "team") -> str:
    return describe.describe(cluster.store, kind, name, namespace, cluster.clock.now())


@pytest.mark.parametrize(("kind", "name", "golden"), [
    ("pvc", "data", "pvc"),
    ("storageclass", "zonal", "storageclass"),
    ("deploy", "web", "deployment"),
    ("svc", "web", "service"),
    ("sts", "db", "statefulset"),
    ("ds", "agent", "daemonset"),
    ("sa", "default", "serviceaccount"),
    ("ns", "team", "namespace"),
])
def test_describe_layout_matches_golden(cluster: Cluster, golden_file, kind: str, name: str, golden: str) -> None:
    golden_file(f"describe/{golden}.txt", show(cluster, kind, name))


def test_describe_pv_node_and_replicaset_goldens(cluster: Cluster, golden_file) -> None:
    claim = cluster.store.get("PersistentVolumeClaim", "data", "team")
    golden_file("describe/pv.txt", show(cluster, "pv", claim.spec["volumeName"]))
    pod = cluster.store.list("Pod", "team", lambda p: p.labels.get("app") == "web")[0]
    golden_file("describe/node.txt", show(cluster, "node", pod.spec["nodeName"]))
    golden_file("describe/replicaset.txt", show(cluster, "rs", "web"))   # a prefix: the one ReplicaSet web-<hash>
    golden_file("describe/pod.txt", show(cluster, "po", "web-"))          # the Deployment's one pod


def test_pvc_shows_its_finalizer_its_user_and_the_provisioning_events(cluster: Cluster) -> None:
    out = show(cluster, "persistentvolumeclaims", "data")
    assert "Finalizers:    [kubernetes.io/pvc-protection]\n" in out
    assert "Capacity:      1Gi\n" in out   # 1024Mi as Quantity.String() writes it
    assert "Used By:       web-" in out
    reasons = [line.split()[1] for line in out.split("Events:\n", 1)[1].splitlines()[2:]]
    assert reasons[0] == "WaitForFirstConsumer" and reasons[-1] == "ProvisioningSucceeded"


def test_node_describe_greps_like_the_seed(cluster: Cluster) -> None:
    """`kubectl describe node N | grep topology.kubernetes.io` finds the zone label."""
    node = cluster.store.list("Node")[1]
    lines = [line for line in show(cluster, "no", node.name).splitlines() if "topology.kubernetes.io" in line]
    assert lines and lines[0].strip() == f"topology.kubernetes.io/zone={node.labels['topology.kubernetes.io/zone']}"


def test_unknown_name_and_prefix_matching(cluster: Cluster) -> None:
    with pytest.raises(NotFound, match='persistentvolumeclaims "nope" not found'):
        show(cluster, "pvc", "nope")
    both = show(cluster, "pods", "web-")
    assert both.startswith("Name:") and both.count("\nNamespace:") == 1 and both.endswith("\n\n")


def test_command_accepts_kind_slash_name(cluster: Cluster, capsys, monkeypatch) -> None:
    monkeypatch.setattr(describe, "cluster_inputs", lambda args: type("I", (), {"build": lambda self: cluster})())
    sub = argparse.ArgumentParser().add_subparsers()
    describe.register(sub)
    args = sub.choices["describe"].parse_args(["storageclass/zonal"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out.startswith("Name:                  zonal\nIsDefaultClass:        No\n")


# `kubectl describe ns openshift-cnv` on a namespace stuck in Terminating (quoted from a bug report).
REAL_CONDITIONS = """\
Conditions:
  Type                                         Status  LastTransitionTime               Reason                  Message
  ----                                         ------  ------------------               ------                  -------
  NamespaceDeletionDiscoveryFailure            False   Mon, 27 Nov 2023 10:21:04 +0000  ResourcesDiscovered     All resources successfully discovered
  NamespaceDeletionGroupVersionParsingFailure  False   Mon, 27 Nov 2023 10:21:04 +0000  ParsedGroupVersions     All legacy kube types successfully parsed
  NamespaceDeletionContentFailure              True    Mon, 27 Nov 2023 10:21:04 +0000  ContentDeletionFailed   Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: openshift-cnv for gvr: /v1, Resource=pods
  NamespaceContentRemaining                    True    Mon, 27 Nov 2023 10:21:04 +0000  SomeResourcesRemain     Some resources are remaining: pods. has 9 resource instances
  NamespaceFinalizersRemaining                 False   Mon, 27 Nov 2023 10:21:04 +0000  ContentHasNoFinalizers  All content-preserving finalizers finished
"""


def test_namespace_conditions_table_matches_real_kubectl() -> None:
    rows = [line.split("  ") for line in REAL_CONDITIONS.splitlines()[3:]]
    conditions = []
    for row in rows:
        cells = [c.strip() for c in row if c.strip()]
        conditions.append({"type": cells[0], "status": cells[1], "lastTransitionTime": "2023-11-27T10:21:04Z",
                           "reason": cells[3], "message": cells[4]})
    ns = make_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "openshift-cnv"},
                      "status": {"phase": "Terminating", "conditions": conditions}})
    out = describe.namespace.describe_namespace(None, ns, 0.0)
    assert REAL_CONDITIONS in out
    assert out.endswith("Status:       Terminating\n" + REAL_CONDITIONS + "\nNo resource quota.\n\nNo LimitRange resource.\n")


def test_annotations_are_key_colon_value_and_long_ones_wrap() -> None:
    lines = text.annotations("Annotations", {"b": "2", "a": "x" * 150, "kubectl.kubernetes.io/last-applied-configuration": "{}"})
    assert lines == ["Annotations:\ta:", "\t  " + "x" * 138 + "...", "\tb: 2"]


def test_events_from_falls_back_to_reporting_component_and_prefixes_the_field_path() -> None:
    event = make_object({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default",
                                                                            "resourceVersion": "1"},
                         "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{app}"},
                         "reason": "Pulled", "message": "done ", "type": "Normal", "count": 3,
                         "reportingComponent": "kubelet", "firstTimestamp": "2024-01-01T00:00:00Z",
                         "lastTimestamp": "2024-01-01T00:01:00Z"})
    lines = text.events([event], 1704067320.0)
    assert lines[-1] == "  Normal\tPulled\t60s (x3 over 2m)\tkubelet\tspec.containers{app}: done"


BATCH = """\
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: batch/v1
kind: Job
metadata: {name: report, namespace: ops, labels: {team: data}}
spec:
  completions: 2
  ttlSecondsAfterFinished: 600
  activeDeadlineSeconds: 300
  template:
    metadata: {annotations: {netsim.dev/run-seconds: "5"}}
    spec:
      restartPolicy: Never
      containers: [{name: report, image: busybox:1.36, command: [sh, -c, make-report]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: shard, namespace: ops}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 3
  template:
    metadata: {annotations: {netsim.dev/run-seconds: "4"}}
    spec:
      restartPolicy: Never
      containers: [{name: work, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ops}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 30
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        metadata: {annotations: {netsim.dev/run-seconds: "45"}}
        spec:
          restartPolicy: OnFailure
          containers: [{name: backup, image: busybox:1.36, args: [backup]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: ops}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: nginx:1.25}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: ops}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: api}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ops, labels: {app: api}}
data:
  mode: prod
  nginx.conf: |
    server {
      listen 80;
    }
binaryData:
  logo.png: iVBORw0KGgo=
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ops}
stringData: {username: admin}
data: {password: czNjcjN0IQ==}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: ops}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy, namespace: ops}
subsets:
- addresses: [{ip: 192.0.2.10}, {ip: 192.0.2.11}]
  notReadyAddresses: [{ip: 192.0.2.12}]
  ports: [{name: db, port: 5432, protocol: TCP}, {port: 9187, protocol: TCP}]
"""


@pytest.fixture(scope="module")
def batch_cluster() -> Cluster:
    built = Cluster.build(load_topology(ROOT / "topologies/three-zone.yaml"), load_text(BATCH, "batch.yaml"), seed=0)
    built.advance(150)
    return built


@pytest.mark.parametrize(("kind", "name", "golden"), [
    ("job", "report", "job"),
    ("jobs", "shard", "job-indexed"),
    ("cj", "nightly", "cronjob"),
    ("pdb", "api", "pdb"),
    ("cm", "settings", "configmap"),
    ("secret", "creds", "secret"),
    ("ep", "legacy", "endpoints"),
    ("endpointslice", "api-", "endpointslice"),   # a prefix: the controller's api-<suffix> slice
])
def test_describe_batch_policy_config_and_endpoints_goldens(batch_cluster: Cluster, golden_file, kind: str, name: str,
                                                  golden: str) -> None:
    golden_file(f"describe/{golden}.txt", show(batch_cluster, kind, name, "ops"))


@pytest.mark.parametrize(("kind", "name"), [("job", "report"), ("jobs", "shard"), ("cronjob", "nightly"),
                                           ("cj", "nightly"), ("pdb", "api"), ("poddisruptionbudgets", "api"),
                                           ("cm", "settings"), ("configmap", "settings"), ("secret", "creds"),
                                           ("secrets", "creds"), ("endpoints", "legacy"),
                                           ("endpointslices", "api-")])
def test_kubectl_names_and_short_names_reach_the_new_describers(batch_cluster: Cluster, kind: str, name: str) -> None:
    assert show(batch_cluster, kind, name, "ops").startswith("Name:")


def test_a_cronjobs_job_is_controlled_by_it(batch_cluster: Cluster) -> None:
    out = show(batch_cluster, "job", "nightly-28401122", "ops")
    assert "\nControlled By:    CronJob/nightly\n" in out
    assert "\nPods Statuses:    1 Active (1 Ready) / 0 Succeeded / 0 Failed\n" in out
    assert "Completed At" not in out and "Duration" not in out   # still running


def test_job_without_ready_count_and_without_parallelism() -> None:
    """status.ready unset: no `(N Ready)`; parallelism unset: no line; completions unset: `<unset>`."""
    job = make_object({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "default"},
                       "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
                       "status": {"active": 1}})
    out = describe.batch.describe_job(type("S", (), {"list": lambda self, *a: []})(), job, 0.0)
    assert "\nCompletions:    <unset>\nPods Statuses:  1 Active / 0 Succeeded / 0 Failed\n" in out
    assert "Parallelism" not in out and "Suspend" not in out


def test_completed_indexes_are_capped_after_the_comma_past_fifty_characters() -> None:
    indexes = ",".join(str(i) for i in range(0, 80, 2))
    capped = describe.batch.cap_indexes(indexes)
    assert capped == indexes[:indexes.index(",", 50) + 1] + "..."
    assert describe.batch.cap_indexes("0-2,4") == "0-2,4" and describe.batch.cap_indexes("") == "<none>"


def test_service_account_token_is_shown_and_other_keys_counted() -> None:
    secret = make_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": "default"},
                          "type": "kubernetes.io/service-account-token",
                          "data": {"token": "ZXlKaGJHYw==", "ca.crt": "AAECAw=="}})
    out = describe.config.describe_secret(None, secret, 0.0)
    assert out.endswith("Data\n====\nca.crt:  4 bytes\ntoken:   eyJhbGc\n")


def test_terminal_escapes_in_object_data_are_neutralised() -> None:
    """prefixWriter writes through printers.WriteEscaped: ESC becomes ^[ and CR becomes \\r."""
    cm = make_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
                      "data": {"banner": "\x1b[31mred\r"}})
    out = describe.config.describe_configmap(type("S", (), {"list": lambda self, *a: []})(), cm, 0.0)
    assert "banner:\n----\n^[[31mred\\r\n\n" in out and "\x1b" not in out
