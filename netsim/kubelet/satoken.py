"""The token file of a projected serviceAccountToken source: a JWT as the API server's TokenRequest issues it.

kubelet asks for the token (expirationSeconds, audience) when it mounts the
volume; kube-apiserver (pkg/serviceaccount/claims.go, registry token.go)
signs with its service-account key, RS256, header `{"alg":"RS256","kid":…}`
where kid is base64url(sha256(PKIX public key)) unpadded (keyIDFromPublicKey).
Claims, sorted by key as go-jose writes a merged claim map: aud (the source's
audience, else the API audiences = the issuer), exp, iat, iss (kubeadm's
`https://kubernetes.default.svc.<clusterDomain>`), jti, kubernetes.io
{namespace, node {name, uid}, pod {name, uid}, serviceaccount {name, uid},
warnafter}, nbf, sub `system:serviceaccount:<ns>:<name>`. A request of
3607 s for the API audience is extended to a year (ExpirationExtensionSeconds)
with warnafter at 3607 s, as --service-account-extend-token-expiration does.

Deterministic stand-ins: the signing key is drawn from the cluster seed's
`service-account-key` generator (as certificates.py draws the CA key); jti,
a random UUID in the real server, is a UUID derived from the pod's uid, the
volume and the issue time; the issue time is when the kubelet mounted the
volume (the pod's startTime on the simulated clock).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from netsim.api.objects import Pod
from netsim.api.store import Store
from netsim.auth.certificates import seeded_rsa_key
from netsim.sim.rng import Random

WARN_ONLY_SECONDS = 3607                 # token.WarnOnlyBoundTokenExpirationSeconds
EXTENSION_SECONDS = 24 * 365 * 60 * 60   # token.ExpirationExtensionSeconds


@functools.lru_cache(maxsize=4)
def signing_key(seed: int) -> rsa.RSAPrivateKey:
    """The API server's service-account signing key for a seeded cluster."""
    return seeded_rsa_key(Random(seed).child("service-account-key").generator)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(key: rsa.RSAPrivateKey) -> str:
    """keyIDFromPublicKey: base64url of the SHA-256 of the PKIX-encoded public key, unpadded."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64url(hashlib.sha256(der).digest())


def _jti(pod: Pod, volume: str, issued: int) -> str:
    raw = bytearray(hashlib.sha256(f"{pod.uid}/{volume}/{issued}".encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def issuer(cluster_domain: str) -> str:
    """kubeadm's --service-account-issuer (and the API audience)."""
    return f"https://kubernetes.default.svc.{cluster_domain}"


def service_account_token(store: Store, pod: Pod, source: dict, volume: str, issued: float, seed: int,
                          cluster_domain: str) -> str:
    """The JWT kubelet writes for one serviceAccountToken projection (module docstring)."""
    iss = issuer(cluster_domain)
    audience = source.get("audience") or iss
    requested = int(source.get("expirationSeconds") or WARN_ONLY_SECONDS)
    iat = int(issued)
    sa_name = pod.spec.get("serviceAccountName") or "default"
    sa = store.try_get("ServiceAccount", sa_name, pod.namespace)
    node = store.try_get("Node", pod.node_name) if pod.node_name else None
    private = {"namespace": pod.namespace,
               "node": {"name": pod.node_name, "uid": node.uid if node is not None else ""},
               "pod": {"name": pod.name, "uid": pod.uid},
               "serviceaccount": {"name": sa_name, "uid": sa.uid if sa is not None else ""}}
    lifetime = requested
    if requested == WARN_ONLY_SECONDS and audience == iss:
        lifetime = EXTENSION_SECONDS
        private["warnafter"] = iat + WARN_ONLY_SECONDS
    claims = {"aud": [audience], "exp": iat + lifetime, "iat": iat, "iss": iss, "jti": _jti(pod, volume, iat),
              "kubernetes.io": private, "nbf": iat, "sub": f"system:serviceaccount:{pod.namespace}:{sa_name}"}
    key = signing_key(seed)
    header = {"alg": "RS256", "kid": key_id(key)}

    def part(value: dict) -> str:
        return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())

    signing_input = f"{part(header)}.{part(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"
