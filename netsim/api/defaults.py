"""The default values the API server fills in on create (its defaulting functions).

`apply_defaults(data)` changes a manifest dict in place, kind by kind, the way
kube-apiserver's SetDefaults_* functions and the admission plugins that always
run in a kubeadm cluster (ServiceAccount, DefaultTolerationSeconds) do. Values
the user set are never changed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from netsim.api.errors import FieldError


def _set(node: dict, key: str, value: Any) -> Any:
    """node[key] = value unless the user set it; returns the value in place."""
    if node.get(key) is None:
        node[key] = value
    return node[key]


def _image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, else IfNotPresent (SetDefaults_Container)."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _container(c: dict) -> None:
    _set(c, "imagePullPolicy", _image_pull_policy(c.get("image", "")))
    _set(c, "terminationMessagePath", "/dev/termination-log")
    _set(c, "terminationMessagePolicy", "File")
    _set(c, "resources", {})
    for port in c.get("ports") or ():
        _set(port, "protocol", "TCP")


def pod_spec(spec: dict) -> None:
    """PodSpec defaults (also applied inside every pod template)."""
    _set(spec, "restartPolicy", "Always")
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "schedulerName", "default-scheduler")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "securityContext", {})
    _set(spec, "enableServiceLinks", True)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(c)


def _pod(d: dict) -> None:
    spec = _set(d, "spec", {})
    pod_spec(spec)
    _set(spec, "priority", 0)
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    sa = _set(spec, "serviceAccountName", "default")
    _set(spec, "serviceAccount", sa)
    tolerations = _set(spec, "tolerations", [])
    present = {(t.get("key"), t.get("effect")) for t in tolerations}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if (key, "NoExecute") not in present:
            tolerations.append({"effect": "NoExecute", "key": key, "operator": "Exists", "tolerationSeconds": 300})
    status = _set(d, "status", {})
    _set(status, "phase", "Pending")
    _set(status, "qosClass", _qos_class(spec))


def _qos_class(spec: dict) -> str:
    """Guaranteed, Burstable or BestEffort from the containers' requests and limits (qos.GetPodQOS)."""
    containers = spec.get("containers") or []
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or str(requests.get(name, limits[name])) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _template(d: dict, path: tuple[str, ...] = ("spec", "template")) -> None:
    node = d
    for key in path:
        node = node.get(key) or {}
    if "spec" in node:
        pod_spec(node["spec"])


def _deployment(d: dict) -> None:
    spec = d["spec"]
    _set(spec, "replicas", 1)
    strategy = _set(spec, "strategy", {})
    if _set(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _set(strategy, "rollingUpdate", {})
        _set(rolling, "maxSurge", "25%")
        _set(rolling, "maxUnavailable", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(d)


def _replicaset(d: dict) -> None:
    _set(d["spec"], "replicas", 1)
    _template(d)


def _statefulset(d: dict) -> None:
    spec = d["spec"]
    _set(spec, "replicas", 1)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = _set(spec, "updateStrategy", {})
    if _set(strategy, "type", "RollingUpdate") == "RollingUpdate":
        _set(_set(strategy, "rollingUpdate", {}), "partition", 0)
    _set(spec, "revisionHistoryLimit", 10)
    policy = _set(spec, "persistentVolumeClaimRetentionPolicy", {})
    _set(policy, "whenDeleted", "Retain")
    _set(policy, "whenScaled", "Retain")
    _template(d)


def _daemonset(d: dict) -> None:
    spec = d["spec"]
    strategy = _set(spec, "updateStrategy", {})
    if _set(strategy, "type", "RollingUpdate") == "RollingUpdate":
        rolling = _set(strategy, "rollingUpdate", {})
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(d)


def _job(d: dict) -> None:
    spec = d["spec"]
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _set(spec, "parallelism", 1)
    # SetDefaults_Job: with a per-index limit the Job-wide one is effectively off (MaxInt32)
    _set(spec, "backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _template(d)


def _cronjob(d: dict) -> None:
    spec = d["spec"]
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    _template(d, ("spec", "jobTemplate", "spec", "template"))


def _service(d: dict) -> None:
    spec = _set(d, "spec", {})
    svc_type = _set(spec, "type", "ClusterIP")
    if svc_type == "ExternalName":
        return
    _set(spec, "sessionAffinity", "None")
    for port in spec.get("ports") or ():
        _set(port, "protocol", "TCP")
        _set(port, "targetPort", port.get("port"))
    _set(spec, "internalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    _set(d, "status", {}).setdefault("loadBalancer", {})


def _namespace(d: dict) -> None:
    meta = d["metadata"]
    labels = _set(meta, "labels", {})
    _set(labels, "kubernetes.io/metadata.name", meta.get("name"))
    _set(_set(d, "spec", {}), "finalizers", ["kubernetes"])
    _set(_set(d, "status", {}), "phase", "Active")


def _endpointslice(d: dict) -> None:
    for port in d.get("ports") or ():
        _set(port, "protocol", "TCP")


def _pvc(d: dict) -> None:
    spec = _set(d, "spec", {})
    _set(spec, "volumeMode", "Filesystem")
    _set(_set(d, "status", {}), "phase", "Pending")


def _pv(d: dict) -> None:
    spec = _set(d, "spec", {})
    _set(spec, "persistentVolumeReclaimPolicy", "Retain")
    _set(spec, "volumeMode", "Filesystem")
    _set(_set(d, "status", {}), "phase", "Pending")


def _storageclass(d: dict) -> None:
    _set(d, "reclaimPolicy", "Delete")
    _set(d, "volumeBindingMode", "Immediate")


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def go_base64_error(text: str) -> int | None:
    """Where Go's base64.StdEncoding.DecodeString fails (CorruptInputError's byte offset), None when it decodes."""
    si, n = 0, len(text)
    while True:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j          # a quantum cut short: padding is required
            ch = text[si]
            si += 1
            if ch in _B64:
                j += 1
                continue
            if ch in "\r\n":
                continue
            if ch != "=" or j < 2:
                return si - 1
            if j == 2:                 # "==" expected: the first one is consumed
                while si < n and text[si] in "\r\n":
                    si += 1
                if si == n:
                    return n
                if text[si] != "=":
                    return si - 1
                si += 1
            while si < n and text[si] in "\r\n":
                si += 1
            return si if si < n else None


def _secret(d: dict) -> None:
    """stringData merges into data base64-encoded (the Secret REST strategy), after data is checked as base64."""
    data = d.get("data") or {}
    for key, value in data.items():
        at = go_base64_error(str(value))
        if at is not None:
            raise FieldError(f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at '
                             f"input byte {at}", f"data[{key}]")
    string_data = d.pop("stringData", None) or {}
    if string_data:
        merged = dict(data)
        for key, value in string_data.items():
            merged[key] = base64.b64encode(str(value).encode()).decode()
        d["data"] = merged
    _set(d, "type", "Opaque")


def _priorityclass(d: dict) -> None:
    _set(d, "preemptionPolicy", "PreemptLowerPriority")


DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "CronJob": _cronjob,
    "DaemonSet": _daemonset,
    "Deployment": _deployment,
    "EndpointSlice": _endpointslice,
    "Job": _job,
    "Namespace": _namespace,
    "PersistentVolume": _pv,
    "PersistentVolumeClaim": _pvc,
    "Pod": _pod,
    "PriorityClass": _priorityclass,
    "ReplicaSet": _replicaset,
    "Secret": _secret,
    "Service": _service,
    "StatefulSet": _statefulset,
    "StorageClass": _storageclass,
}


def apply_defaults(data: dict) -> None:
    """Fill in the API server's defaults for this object's kind, in place."""
    defaulter = DEFAULTERS.get(data.get("kind", ""))
    if defaulter is not None:
        defaulter(data)
