"""`kubectl describe` for ConfigMaps and Secrets.

As describe.go's ConfigMapDescriber (each data key under `key:` and `----`
with its value and a blank line, binaryData keys with their decoded size,
both sorted by key, a blank line, then the events) and describeSecret (Type,
then each data key with its decoded size in bytes; a service-account-token
Secret's `token` is shown as it is; no events). The values pass through the
tab writer as kubectl's do, so a tab inside a ConfigMap value aligns as it
does there.
"""

from __future__ import annotations

import base64

from netsim.cli.describe import text as t

SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"   # corev1.SecretTypeServiceAccountToken
TOKEN_KEY = "token"                                                  # corev1.ServiceAccountTokenKey


def _decoded(value: str) -> bytes:
    """The bytes of a base64 `data` / `binaryData` value, as the API decodes []byte fields."""
    return base64.b64decode(value, validate=True)


def describe_configmap(store, cm, now: float) -> str:
    """The text `kubectl describe configmap NAME` prints."""
    lines = [f"Name:\t{cm.name}", f"Namespace:\t{cm.namespace}"]
    lines += t.labels("Labels", cm.labels)
    lines += t.annotations("Annotations", cm.annotations)
    lines += ["", "Data", "===="]
    data = cm.get("data") or {}
    for key in sorted(data):
        lines += [f"{key}:", "----", str(data[key]), ""]
    lines += ["", "BinaryData", "===="]
    binary = cm.get("binaryData") or {}
    lines += [f"{key}: {len(_decoded(binary[key]))} bytes" for key in sorted(binary)]
    lines.append("")
    lines += t.events(t.events_about(store, cm), now)
    return t.render(lines)


def describe_secret(store, secret, now: float) -> str:
    """The text `kubectl describe secret NAME` prints (kubectl shows no events for Secrets)."""
    lines = [f"Name:\t{secret.name}", f"Namespace:\t{secret.namespace}"]
    lines += t.labels("Labels", secret.labels)
    lines += t.annotations("Annotations", secret.annotations)
    kind = secret.get("type") or ""
    lines += ["", f"Type:\t{kind}", "", "Data", "===="]
    data = secret.get("data") or {}
    for key in sorted(data):
        raw = _decoded(data[key])
        if key == TOKEN_KEY and kind == SERVICE_ACCOUNT_TOKEN_TYPE:
            lines.append(f"{key}:\t{raw.decode('utf-8', errors='replace')}")
        else:
            lines.append(f"{key}:\t{len(raw)} bytes")
    return t.render(lines)
