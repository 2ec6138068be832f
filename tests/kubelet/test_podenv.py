"""A container's environment as kubelet makes it, and CreateContainerConfigError on the simulated clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.api.load import load_text
from netsim.api.topology import load_topology
from netsim.cli.tables import table
from netsim.emulator.cluster import Cluster
from netsim.errors import InputError
from netsim.kubelet.podenv import (DEFAULT_PATH, ConfigError, container_env, expand, format_map, process_env,
                                   service_env)

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = load_topology(ROOT / "topologies/three-node.yaml")

OBJECTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {mode: fast, b: two, a: one}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: czNjcjN0}
---
apiVersion: v1
kind: Service
metadata: {name: my-db}
spec:
  selector: {app: db}
  ports: [{port: 5432}, {name: metrics, port: 9187, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: elsewhere, namespace: other}
spec:
  selector: {app: x}
  ports: [{port: 80}]
"""


def pod(env: str = "", env_from: str = "", spec: str = "", resources: str = "", name: str = "p") -> str:
    return (f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec:\n{spec}"
            f"  containers:\n  - name: app\n    image: nginx:1.25\n{resources}"
            + (f"    env:\n{env}" if env else "") + (f"    envFrom:\n{env_from}" if env_from else ""))


def build(text: str, horizon: float = 0.0) -> Cluster:
    return Cluster.build(TOPOLOGY, load_text(text, "test.yaml"), horizon=horizon)


def env_of(cluster: Cluster, name: str = "p") -> dict[str, str]:
    p = cluster.store.get("Pod", name, "default")
    return {v.name: v.value for v in container_env(cluster.store, p, p.spec["containers"][0])}


def test_expansion_follows_the_forked_golang_expansion_package() -> None:
    ctx = {"A": "1", "EMPTY": ""}
    assert expand("$(A)-$(B)", ctx) == "1-$(B)"           # an unknown reference stays as written
    assert expand("$$(A)", ctx) == "$(A)"                 # $$ escapes
    assert expand("$A $(A", ctx) == "$A $(A"              # not references
    assert expand("x$", ctx) == "x$"                      # a trailing $ is kept
    assert expand("[$(EMPTY)]", ctx) == "[]"
    assert expand("$(A)", {}, {"A": "svc"}) == "svc"      # later contexts are the service variables


def test_service_links_give_the_envvars_package_names() -> None:
    cluster = build(OBJECTS + pod())
    env = service_env(cluster.store, "default", True)
    ip = cluster.store.get("Service", "my-db", "default").spec["clusterIP"]
    mine = {k: v for k, v in env.items() if k.startswith("MY_DB")}
    assert list(mine) == ["MY_DB_SERVICE_HOST", "MY_DB_SERVICE_PORT", "MY_DB_SERVICE_PORT_METRICS", "MY_DB_PORT",
                          "MY_DB_PORT_5432_TCP", "MY_DB_PORT_5432_TCP_PROTO", "MY_DB_PORT_5432_TCP_PORT",
                          "MY_DB_PORT_5432_TCP_ADDR", "MY_DB_PORT_9187_TCP", "MY_DB_PORT_9187_TCP_PROTO",
                          "MY_DB_PORT_9187_TCP_PORT", "MY_DB_PORT_9187_TCP_ADDR"]
    assert mine["MY_DB_PORT"] == f"tcp://{ip}:5432" and mine["MY_DB_SERVICE_PORT"] == "5432"
    assert not any(k.startswith(("HEADLESS", "ELSEWHERE")) for k in env)   # no cluster IP; another namespace
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    without = service_env(cluster.store, "default", False)
    assert {k.split("_")[0] for k in without} == {"KUBERNETES"}            # the master service stays


def test_env_from_env_and_value_from_in_kubelets_order() -> None:
    env = ("    - {name: MODE_COPY, value: 'm=$(mode) db=$(MY_DB_SERVICE_PORT) later=$(LATER)'}\n"
           "    - name: PASSWORD\n      valueFrom: {secretKeyRef: {name: creds, key: password}}\n"
           "    - name: NODE\n      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}\n"
           "    - name: LABEL\n      valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}\n"
           "    - name: SA\n      valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}\n"
           "    - {name: LATER, value: x}\n"
           "    - {name: mode, value: overridden}\n")
    env_from = "    - configMapRef: {name: cfg}\n    - secretRef: {name: creds}\n      prefix: S_\n"
    cluster = build(OBJECTS + pod(env, env_from))
    values = env_of(cluster)
    names = list(values)
    assert names[:7] == ["a", "b", "mode", "S_password", "MODE_COPY", "PASSWORD", "NODE"]
    assert values["MODE_COPY"] == "m=fast db=5432 later=$(LATER)"   # only variables declared before
    assert values["mode"] == "overridden" and values["S_password"] == values["PASSWORD"] == "s3cr3t"
    p = cluster.store.get("Pod", "p", "default")
    assert values["NODE"] == p.node_name and values["LABEL"] == "web" and values["SA"] == "default"
    assert names.index("LATER") < names.index("KUBERNETES_SERVICE_HOST")   # service variables come last


def test_resource_field_ref_defaults_limits_to_node_allocatable() -> None:
    env = ("    - name: CPU\n      valueFrom: {resourceFieldRef: {resource: limits.cpu}}\n"
           "    - name: MEM_MI\n      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}\n"
           "    - name: REQ_CPU_M\n      valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}\n"
           "    - name: REQ_MEM\n      valueFrom: {resourceFieldRef: {resource: requests.memory}}\n")
    resources = "    resources:\n      requests: {cpu: 250m}\n      limits: {memory: 100M}\n"
    values = env_of(build(OBJECTS + pod(env, resources=resources)))
    assert values["CPU"] == "4"                 # no limit: the node's allocatable cpu (4)
    assert values["MEM_MI"] == "96"             # ceil(100M / 1Mi)
    assert values["REQ_CPU_M"] == "250"
    assert values["REQ_MEM"] == "100000000"     # requests default to the limits


@pytest.mark.parametrize("ref, message", [
    ("configMapKeyRef: {name: nope, key: k}", 'configmap "nope" not found'),
    ("configMapKeyRef: {name: cfg, key: k}", "couldn't find key k in ConfigMap default/cfg"),
    ("secretKeyRef: {name: nope, key: k}", 'secret "nope" not found'),
    ("secretKeyRef: {name: creds, key: k}", "couldn't find key k in Secret default/creds"),
])
def test_a_missing_required_reference_is_kubelets_error(ref: str, message: str) -> None:
    cluster = build(OBJECTS + pod(f"    - name: X\n      valueFrom: {{{ref}}}\n"))
    p = cluster.store.get("Pod", "p", "default")
    with pytest.raises(ConfigError) as err:
        container_env(cluster.store, p, p.spec["containers"][0])
    assert str(err.value) == message


def test_optional_references_are_skipped() -> None:
    env = ("    - name: X\n      valueFrom: {configMapKeyRef: {name: nope, key: k, optional: true}}\n"
           "    - name: Y\n      valueFrom: {secretKeyRef: {name: creds, key: k, optional: true}}\n")
    env_from = "    - configMapRef: {name: nope, optional: true}\n"
    values = env_of(build(OBJECTS + pod(env, env_from)))
    assert "X" not in values and "Y" not in values


def test_an_unsupported_field_path_is_refused_with_its_name() -> None:
    with pytest.raises(InputError, match="Pod default/p: fieldRef.fieldPath: Unsupported value: 'metadata.labels'"):
        build(OBJECTS + pod("    - name: X\n      valueFrom: {fieldRef: {fieldPath: metadata.labels}}\n"))


def test_process_env_orders_path_hostname_kubelets_list_then_home() -> None:
    env = "    - {name: PATH, value: /opt/bin}\n    - {name: A, value: '1'}\n"
    spec = "  hostname: web-0\n  subdomain: web\n  setHostnameAsFQDN: true\n  enableServiceLinks: false\n"
    cluster = build(OBJECTS + pod(env, spec=spec))
    p = cluster.store.get("Pod", "p", "default")
    out = process_env(cluster.store, p, p.spec["containers"][0], "cluster.local")
    assert [(v.name, v.value) for v in out[:3]] == [("PATH", "/opt/bin"), ("HOSTNAME", "web-0.web.default.svc.cluster.local"),
                                                     ("A", "1")]
    assert out[-1].name == "HOME" and out[-1].value == "/root"
    plain = build(OBJECTS + pod(spec="  securityContext: {runAsUser: 1000}\n"))
    q = plain.store.get("Pod", "p", "default")
    env2 = process_env(plain.store, q, q.spec["containers"][0], "cluster.local")
    assert env2[0].value == DEFAULT_PATH and env2[1].value == "p" and env2[-1].value == "/"


def test_format_map_is_sorted_go_quoted_lines() -> None:
    assert format_map({"b": 'say "hi"', "a": "x\ny"}) == 'a="x\\ny"\nb="say \\"hi\\""'


def status_of(cluster: Cluster, name: str) -> str:
    return table("Pod", [cluster.store.get("Pod", name, "default")], cluster.clock.now()).splitlines()[1].split()[2]


def test_create_container_config_error_then_starts_at_the_retry_after_the_object_appears() -> None:
    cluster = build(pod("    - name: X\n      valueFrom: {configMapKeyRef: {name: late, key: k}}\n", name="late-pod"))
    p = cluster.store.get("Pod", "late-pod", "default")
    assert p.phase == "Pending" and status_of(cluster, "late-pod") == "CreateContainerConfigError"
    assert p.status["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "late" not found'}}
    cluster.advance(25)   # retries at 10s and 20s
    failed = [e for e in cluster.store.list("Event", "default") if e.reason == "Failed"]
    assert [(e.type, e.message, e.get("count")) for e in failed] == [
        ("Warning", 'Error: configmap "late" not found', 3)]
    cluster.store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "default"},
                          "data": {"k": "v"}})
    cluster.advance(4)    # t=29: the next retry is at 30s
    assert status_of(cluster, "late-pod") == "CreateContainerConfigError"
    cluster.advance(1)
    p = cluster.store.get("Pod", "late-pod", "default")
    assert p.phase == "Running" and status_of(cluster, "late-pod") == "Running"
    assert p.status["containerStatuses"][0]["state"]["running"]["startedAt"].endswith("00:00:30Z")
    assert env_of(cluster, "late-pod")["X"] == "v"
