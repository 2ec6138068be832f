"""A container's environment, as kubelet makes it (kubelet_pods.go makeEnvironmentVariables) and containerd sets it.

kubelet's part, in its order of work:
- the service variables (getServiceEnvVarMap, pkg/kubelet/envvars FromServices):
  `kubernetes` from `default` always, every other Service of the pod's
  namespace when `enableServiceLinks` (default true); Services without a
  cluster IP (headless, ExternalName) give none;
- envFrom, in order: every key of the ConfigMap's data or the Secret's
  (decoded) data, with the prefix. kubelet v1.31 passes every key through
  (the IsEnvVarName skip and its InvalidEnvironmentVariableNames event went
  with kubernetes/kubernetes#123385);
- env, in order: `value` with `$(VAR)` expanded (third_party/forked/golang/
  expansion: the declared variables so far, then the service variables;
  `$$` is a literal `$`; an unknown reference stays as written), or
  valueFrom: configMapKeyRef / secretKeyRef (a missing object or key is an
  error unless `optional`), fieldRef (podFieldSelectorRuntimeValue),
  resourceFieldRef (limits default to the node's allocatable, as
  defaultPodLimitsForDownwardAPI does; ceil(value / divisor));
- the service variables the container did not declare.
An error is the message kubelet puts in the CreateContainerConfigError
waiting state (`configmap "x" not found`, `couldn't find key k in ConfigMap
default/x`). kubelet appends from Go maps, so a real container's order
varies from start to start; netsim keeps declaration order (envFrom keys
sorted per source) and then the service variables sorted by Service name.

containerd's part (buildContainerSpec): the OCI default `PATH`, then
`HOSTNAME`, then the image's ENV, then kubelet's list, each replacing a
variable of the same name in place. netsim does not know an image's ENV:
it models every image as declaring none, so PATH is the OCI runtime default.
runc then adds `HOME` when unset: /root for uid 0 (the image's USER is
unknown too, so root unless securityContext.runAsUser says otherwise), `/`
for another uid (runc's fallback when /etc/passwd has no entry).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netsim.api.objects import Pod
from netsim.api.quantity import Quantity
from netsim.api.store import Store
from netsim.errors import InputError, NotImplementedFeature

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"   # containerd oci.WithDefaultPathEnv
MASTER_SERVICE = ("default", "kubernetes")   # kubelet masterServices in metav1.NamespaceDefault
HOSTNAME_MAX = 63                            # truncatePodHostnameIfNeeded: hostnameMaxLen
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(Exception):
    """kubelet could not make the container's config: the CreateContainerConfigError message. Not a netsim bug."""


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One variable of a container's environment."""

    name: str
    value: str


# $(VAR) expansion -------------------------------------------------------------------------
def expand(text: str, *contexts: Mapping[str, str]) -> str:
    """expansion.Expand with MappingFuncFor(contexts...): `$(NAME)` replaced, `$$` → `$`, the rest kept."""
    out = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1:]
            if rest[0] == "$":
                read, advance = "$", 1
            elif rest[0] == "(":
                close = rest.find(")", 1)
                if close == -1:
                    read, advance = "$(", 1
                else:
                    name = rest[1:close]
                    read = next((c[name] for c in contexts if name in c), f"$({name})")
                    advance = close + 1
            else:
                read, advance = "$" + rest[0], 1
            out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


# service links -----------------------------------------------------------------------------
def env_name(name: str) -> str:
    """envvars.makeEnvVariableName: upper case, `-` → `_`."""
    return name.replace("-", "_").upper()


def service_variables(service) -> list[EnvVar]:
    """envvars.FromServices for one Service: _SERVICE_HOST, _SERVICE_PORT[_NAME], then the docker-link ones."""
    ip = service.spec.get("clusterIP") or ""
    ports = list(service.spec.get("ports") or [])
    prefix = env_name(service.name)
    out = [EnvVar(f"{prefix}_SERVICE_HOST", ip), EnvVar(f"{prefix}_SERVICE_PORT", str(ports[0]["port"]))]
    out += [EnvVar(f"{prefix}_SERVICE_PORT_{env_name(p['name'])}", str(p["port"])) for p in ports if p.get("name")]
    host = f"[{ip}]" if ":" in ip else ip   # net.JoinHostPort
    for i, p in enumerate(ports):
        proto = (p.get("protocol") or "TCP").upper()
        url = f"{proto.lower()}://{host}:{p['port']}"
        if i == 0:
            out.append(EnvVar(f"{prefix}_PORT", url))
        base = f"{prefix}_PORT_{p['port']}_{proto}"
        out += [EnvVar(base, url), EnvVar(f"{base}_PROTO", proto.lower()), EnvVar(f"{base}_PORT", str(p["port"])),
                EnvVar(f"{base}_ADDR", ip)]
    return out


def service_env(store: Store, namespace: str, enable_service_links: bool) -> dict[str, str]:
    """getServiceEnvVarMap: the master service always, the namespace's Services with service links."""
    chosen = {}
    for svc in store.list("Service"):
        ip = svc.spec.get("clusterIP") or ""
        if ip in ("", "None") or not svc.spec.get("ports"):
            continue
        if (svc.namespace, svc.name) == MASTER_SERVICE:
            chosen.setdefault(svc.name, svc)
        elif svc.namespace == namespace and enable_service_links:
            chosen[svc.name] = svc
    return {v.name: v.value for name in sorted(chosen) for v in service_variables(chosen[name])}


# the downward API --------------------------------------------------------------------------
def go_quote(text: str) -> str:
    """Go's %q of a string: double quotes, backslash escapes for quotes, backslashes and control characters."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def format_map(values: Mapping[str, str]) -> str:
    """fieldpath.FormatMap: `key="value"` lines sorted by key, no final newline."""
    return "\n".join(f"{k}={go_quote(values[k])}" for k in sorted(values))


def host_ip(store: Store, pod: Pod) -> str:
    """The node's address as kubelet's getHostIPsAnyWay gives it (status.hostIP once written)."""
    node = store.try_get("Node", pod.node_name) if pod.node_name else None
    return (node.internal_ip if node is not None else None) or pod.host_ip or ""


def field_value(store: Store, pod: Pod, path: str, *, volume: bool = False) -> str:
    """podFieldSelectorRuntimeValue / fieldpath.ExtractFieldPathAsString for one fieldRef.fieldPath."""
    match = _SUBSCRIPT.match(path)
    if match:
        values = pod.labels if match.group(1) == "labels" else pod.annotations
        return values.get(match.group(2), "")
    ips = [entry.get("ip", "") for entry in pod.status.get("podIPs") or []] or ([pod.pod_ip] if pod.pod_ip else [])
    simple = {
        "metadata.name": lambda: pod.name,
        "metadata.namespace": lambda: pod.namespace,
        "metadata.uid": lambda: pod.uid,
    }
    if volume:
        simple.update({"metadata.labels": lambda: format_map(pod.labels),
                       "metadata.annotations": lambda: format_map(pod.annotations)})
    else:
        simple.update({
            "spec.nodeName": lambda: pod.node_name,
            "spec.serviceAccountName": lambda: pod.spec.get("serviceAccountName", ""),
            "status.hostIP": lambda: host_ip(store, pod),
            "status.hostIPs": lambda: host_ip(store, pod),
            "status.podIP": lambda: ips[0] if ips else "",
            "status.podIPs": lambda: ",".join(ips),
        })
    if path not in simple:
        where = "downwardAPI volume" if volume else "env"
        raise InputError(f"Pod {pod.namespace}/{pod.name}: fieldRef.fieldPath: Unsupported value: {path!r} "
                         f"(not a field the {where} downward API exposes)")
    return simple[path]()


def _node_allocatable(store: Store, pod: Pod) -> Mapping[str, Any]:
    node = store.try_get("Node", pod.node_name) if pod.node_name else None
    if node is None:
        raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: resourceFieldRef needs the node's allocatable, "
                                    f"and the pod is not bound to a known node")
    return node.allocatable


def resource_value(store: Store, pod: Pod, container: Mapping[str, Any], ref: Mapping[str, Any]) -> str:
    """containerResourceRuntimeValue: limits default to node allocatable, requests to the limits; ceil(v / divisor)."""
    name = ref.get("containerName") or container.get("name")
    target = next((c for c in pod.spec.get("containers") or [] if c.get("name") == name), None)
    if target is None:
        raise InputError(f"Pod {pod.namespace}/{pod.name}: resourceFieldRef.containerName: {name!r} is not a container")
    kind, _, res = str(ref.get("resource", "")).partition(".")
    if kind not in ("limits", "requests") or res not in ("cpu", "memory", "ephemeral-storage"):
        raise NotImplementedFeature(f"Pod {pod.namespace}/{pod.name}: resourceFieldRef.resource "
                                    f"{ref.get('resource')!r} is not emulated (limits/requests of cpu, memory, "
                                    f"ephemeral-storage are)")
    resources = target.get("resources") or {}
    limits, requests = dict(resources.get("limits") or {}), dict(resources.get("requests") or {})
    if kind == "limits":
        raw = limits.get(res) or _node_allocatable(store, pod).get(res, "0")
    else:
        raw = requests.get(res) or limits.get(res) or "0"   # SetDefaults_Pod copies limits into unset requests
    amount = Quantity.parse(str(raw))
    divisor = Quantity.parse(str(ref.get("divisor") or "1"))
    if divisor.is_zero():
        divisor = Quantity.parse("1")
    if res == "cpu":
        return str(math.ceil(amount.milli_value() / divisor.milli_value()))
    return str(math.ceil(amount.value() / divisor.value()))


# ConfigMaps and Secrets --------------------------------------------------------------------
def secret_data(secret) -> dict[str, str]:
    """A Secret's data, decoded (the API server stores base64; the container sees the bytes)."""
    out = {}
    for key, value in (secret.get("data") or {}).items():
        out[key] = base64.b64decode(str(value)).decode("utf-8", errors="surrogateescape")
    return out


def _source(store: Store, kind: str, name: str, namespace: str) -> dict[str, str] | None:
    obj = store.try_get(kind, name, namespace)
    if obj is None:
        return None
    return dict(obj.get("data") or {}) if kind == "ConfigMap" else secret_data(obj)


def _lookup(store: Store, kind: str, ref: Mapping[str, Any], namespace: str, key: str | None) -> str | None:
    """A referenced object (or one key of it); None when optional and absent; ConfigError when required."""
    name = ref.get("name", "")
    data = _source(store, kind, name, namespace)
    optional = bool(ref.get("optional"))
    if data is None:
        if optional:
            return None
        raise ConfigError(f'{kind.lower()} "{name}" not found')
    if key is None:
        return ""
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return data[key]


# the whole environment ---------------------------------------------------------------------
def container_env(store: Store, pod: Pod, container: Mapping[str, Any]) -> tuple[EnvVar, ...]:
    """kubelet's list for the container (module docstring); ConfigError with kubelet's message when it cannot."""
    ns = pod.namespace
    services = service_env(store, ns, bool(pod.spec.get("enableServiceLinks", True)))
    declared: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "") or ""
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(field)
            if ref is None:
                continue
            if _lookup(store, kind, ref, ns, None) is None:
                continue
            data = _source(store, kind, ref.get("name", ""), ns) or {}
            for key in sorted(data):
                declared[prefix + key] = data[key]
    for var in container.get("env") or []:
        value = var.get("value") or ""
        source = var.get("valueFrom")
        if value:
            value = expand(value, declared, services)
        elif source:
            if "fieldRef" in source:
                value = field_value(store, pod, source["fieldRef"].get("fieldPath", ""))
            elif "resourceFieldRef" in source:
                value = resource_value(store, pod, container, source["resourceFieldRef"])
            elif "configMapKeyRef" in source or "secretKeyRef" in source:
                kind, ref = (("ConfigMap", source["configMapKeyRef"]) if "configMapKeyRef" in source
                             else ("Secret", source["secretKeyRef"]))
                found = _lookup(store, kind, ref, ns, ref.get("key", ""))
                if found is None:
                    continue
                value = found
            else:
                raise NotImplementedFeature(f"Pod {ns}/{pod.name}: env {var.get('name')}: valueFrom "
                                            f"{sorted(source)} is not emulated")
        declared[var["name"]] = value
    rest = {k: v for k, v in services.items() if k not in declared}
    return tuple(EnvVar(k, v) for k, v in (*declared.items(), *rest.items()))


def pod_hostname(pod: Pod, cluster_domain: str) -> tuple[str, str]:
    """GeneratePodHostNameAndDomain: (hostname, domain) — spec.hostname or the name cut to 63; the subdomain's FQDN."""
    hostname = (pod.spec.get("hostname") or pod.name)[:HOSTNAME_MAX].rstrip("-.")
    subdomain = pod.spec.get("subdomain") or ""
    domain = f"{subdomain}.{pod.namespace}.svc.{cluster_domain}" if subdomain else ""
    return hostname, domain


def kernel_hostname(pod: Pod, cluster_domain: str) -> str:
    """The UTS hostname: the node's with hostNetwork, else the pod's (its FQDN with setHostnameAsFQDN)."""
    if pod.host_network:
        return pod.node_name
    hostname, domain = pod_hostname(pod, cluster_domain)
    return f"{hostname}.{domain}" if pod.spec.get("setHostnameAsFQDN") and domain else hostname


def _run_as_user(pod: Pod, container: Mapping[str, Any]) -> int:
    for context in (container.get("securityContext") or {}, pod.spec.get("securityContext") or {}):
        if context.get("runAsUser") is not None:
            return int(context["runAsUser"])
    return 0


def process_env(store: Store, pod: Pod, container: Mapping[str, Any], cluster_domain: str) -> tuple[EnvVar, ...]:
    """What `env` prints in the container: PATH, HOSTNAME, kubelet's list (replacing in place), then HOME."""
    merged: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": kernel_hostname(pod, cluster_domain)}
    for var in container_env(store, pod, container):
        merged[var.name] = var.value   # oci.WithEnv: replaceOrAppendEnvValues keeps the first position
    if "HOME" not in merged:
        merged["HOME"] = "/root" if _run_as_user(pod, container) == 0 else "/"
    return tuple(EnvVar(k, v) for k, v in merged.items())
