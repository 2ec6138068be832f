"""CertificateSigningRequests: kubectl's approve/deny, and the kube-controller-manager signer for
kubernetes.io/kube-apiserver-client, issuing from the emulated cluster CA.

The CA is kubeadm's: RSA 2048, self-signed `CN=kubernetes`, ten years from
the simulated clock's start, key usages digitalSignature, keyEncipherment,
certSign. Its key is derived from the seeded generator (primes drawn from
it and tested with Miller-Rabin on bases drawn from it), so the same seed
gives the same CA; RSA PKCS#1 v1.5 signatures are deterministic, so the
same inputs give byte-identical certificates. The signer follows
pkg/controller/certificates/signer: only approved, not failed requests of
its signer name; usages checked as `validAPIServerClientUsages` does (a
Failed condition, reason SignerValidationFailure, otherwise); the lifetime
is the request's expirationSeconds (at least 10 minutes) capped by
--cluster-signing-duration (8760h), backdated 5 minutes
(PermissiveSigningPolicy: end too, unless shorter than 8h), never past the
CA's end; a 128-bit serial from the generator; subject, SANs and public key
from the request.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from netsim.api.meta import format_time
from netsim.api.store import Store
from netsim.auth.errors import CertificateError
from netsim.sim.rng import Random

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
CA_VALIDITY = 10 * 365 * 24 * 3600          # kubeadm's CA: ten years
SIGNING_DURATION = 8760 * 3600              # kube-controller-manager --cluster-signing-duration default
MIN_DURATION = 10 * 60                      # signer.go `duration`: 2 x backdate
BACKDATE = 5 * 60
SHORT = 8 * 3600
_SIEVE_LIMIT = 20000   # trial division by the odd primes below this spares most Miller-Rabin rounds
_SMALL_PRIMES = tuple(n for n in range(3, _SIEVE_LIMIT, 2) if all(n % d for d in range(3, int(n ** 0.5) + 1, 2)))
_SMALL_PRODUCT = math.prod(_SMALL_PRIMES)
_OPTIONAL_USAGES = ("digital signature", "key encipherment")


def _draw_int(rng: np.random.Generator, bits: int) -> int:
    return int.from_bytes(rng.bytes((bits + 7) // 8), "big") >> ((8 - bits % 8) % 8)


def _probably_prime(n: int, rng: np.random.Generator, rounds: int = 5) -> bool:
    """Miller-Rabin on a random odd candidate; 5 rounds is FIPS 186-5's count for the 1024-bit primes of RSA-2048."""
    if n < _SIEVE_LIMIT:
        return n in _SMALL_PRIMES
    if math.gcd(n, _SMALL_PRODUCT) != 1:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        a = 2 + _draw_int(rng, n.bit_length() - 1) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: np.random.Generator, bits: int, e: int) -> int:
    while True:
        candidate = _draw_int(rng, bits) | (0b11 << (bits - 2)) | 1   # top two bits set: p*q has 2*bits bits
        if candidate % e != 1 and _probably_prime(candidate, rng):
            return candidate


def seeded_rsa_key(rng: np.random.Generator, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key whose primes come from `rng` (the same generator state gives the same key)."""
    e = 65537
    while True:
        p, q = _prime(rng, bits // 2, e), _prime(rng, bits // 2, e)
        if p != q:
            break
    p, q = max(p, q), min(p, q)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                    rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class ClusterCA:
    """The cluster's certificate authority: its key and self-signed certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        """The CA certificate, PEM (what kubeconfig's certificate-authority-data holds, base64)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def cluster_ca(rng: np.random.Generator, not_before: float) -> ClusterCA:
    """kubeadm's CA (`CN=kubernetes`), key and serial drawn from `rng`, valid ten years from `not_before`."""
    key = seeded_rsa_key(rng)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(_draw_int(rng, 63) or 1)
            .not_valid_before(_time(not_before)).not_valid_after(_time(not_before + CA_VALIDITY))
            .add_extension(x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return ClusterCA(key, cert)


@functools.lru_cache(maxsize=8)
def ca_for_seed(seed: int, not_before: float) -> ClusterCA:
    """The cluster CA of a seeded cluster (drawn from the seed's `cluster-ca` child generator), memoized."""
    return cluster_ca(Random(seed).child("cluster-ca").generator, not_before)


# --- kubectl certificate approve | deny ------------------------------------------------------------
def _condition(kind: str, reason: str, message: str, now: float) -> dict:
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "lastUpdateTime": format_time(now), "lastTransitionTime": format_time(now)}


def _has(csr: Any, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in csr.status.get("conditions") or ())


def _decide(store: Store, name: str, now: float, approve: bool, force: bool) -> str:
    csr = store.get("CertificateSigningRequest", name)
    kind, other = ("Approved", "Denied") if approve else ("Denied", "Approved")
    verb = "approved" if approve else "denied"
    line = f"certificatesigningrequest.certificates.k8s.io/{name} {verb}"
    if _has(csr, kind) and not force:
        return line                                 # kubectl leaves a request already in that state alone
    if _has(csr, other):
        index = len(csr.status.get("conditions") or ())
        raise CertificateError(f'certificatesigningrequests.certificates.k8s.io "{name}" is invalid: '
                               f'status.conditions[{index}].type: Invalid value: "{kind}": '
                               f'Approved and Denied conditions are mutually exclusive')
    reason = "KubectlApprove" if approve else "KubectlDeny"
    message = f"This CSR was {verb} by kubectl certificate {'approve' if approve else 'deny'}."
    cond = _condition(kind, reason, message, now)

    def change(d: dict) -> None:
        d.setdefault("status", {}).setdefault("conditions", []).append(cond)

    store.update(csr.evolve(change))
    return line


def approve(store: Store, name: str, now: float, force: bool = False) -> str:
    """`kubectl certificate approve NAME`: add the Approved condition; returns kubectl's output line."""
    return _decide(store, name, now, True, force)


def deny(store: Store, name: str, now: float, force: bool = False) -> str:
    """`kubectl certificate deny NAME`: add the Denied condition; returns kubectl's output line."""
    return _decide(store, name, now, False, force)


# --- the kube-apiserver-client signer ----------------------------------------------------------------
def usage_error(usages: Sequence[str]) -> str | None:
    """validAPIServerClientUsages: client auth required, digital signature / key encipherment optional."""
    for usage in usages:
        if usage not in _OPTIONAL_USAGES and usage != "client auth":
            return f"invalid usage for client certificate: {usage}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return None


def certificate_lifetime(expiration_seconds: int | None) -> int:
    """signer.go `duration`: the request's expirationSeconds, at least 10 minutes, at most the signing duration."""
    if expiration_seconds is None:
        return SIGNING_DURATION
    return min(SIGNING_DURATION, max(MIN_DURATION, expiration_seconds))


def parse_request(pem_b64: str, name: str) -> x509.CertificateSigningRequest:
    """spec.request (base64 of a PEM CERTIFICATE REQUEST), with its signature checked."""
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(pem_b64))
    except ValueError as exc:
        raise CertificateError(f"unable to parse csr {name!r}: {exc}") from None
    if not request.is_signature_valid:
        raise CertificateError(f"unable to parse csr {name!r}: x509: signature does not match the request")
    return request


def sign(ca: ClusterCA, request: x509.CertificateSigningRequest, usages: Sequence[str],
         expiration_seconds: int | None, now: float, rng: np.random.Generator) -> x509.Certificate:
    """The certificate the signer issues for an approved, valid request."""
    ttl = certificate_lifetime(expiration_seconds)
    not_before, not_after = now - BACKDATE, now + ttl - (0 if ttl < SHORT else BACKDATE)
    ca_end = ca.certificate.not_valid_after_utc.timestamp()
    if not_before >= ca_end or now >= ca_end:
        raise CertificateError("the signer has expired")
    not_after = min(not_after, ca_end)
    ext_usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if "client auth" in usages else []
    builder = (x509.CertificateBuilder().subject_name(request.subject).issuer_name(ca.certificate.subject)
               .public_key(request.public_key()).serial_number(_draw_int(rng, 128) or 1)
               .not_valid_before(_time(not_before)).not_valid_after(_time(not_after))
               .add_extension(x509.KeyUsage("digital signature" in usages, False, "key encipherment" in usages,
                                            False, False, False, False, False, False), critical=True)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                              critical=False))
    if ext_usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext_usages), critical=False)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        builder = builder.add_extension(sans.value, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(ca.key, hashes.SHA256())


def reconcile(store: Store, ca: ClusterCA, now: float, rng: np.random.Generator) -> list[str]:
    """One signer pass: sign every approved, not yet failed or issued kube-apiserver-client request (by name);
    returns the names it signed or failed."""
    handled = []
    for csr in sorted(store.list("CertificateSigningRequest"), key=lambda c: c.name):
        if (not _has(csr, "Approved") or _has(csr, "Failed") or csr.status.get("certificate")
                or csr.spec.get("signerName") != KUBE_APISERVER_CLIENT):
            continue
        request = parse_request(csr.spec.get("request", ""), csr.name)
        usages = list(csr.spec.get("usages") or ())
        problem = usage_error(usages)
        if problem is not None:
            cond = _condition("Failed", "SignerValidationFailure", problem, now)
            store.update(csr.evolve(lambda d: d.setdefault("status", {}).setdefault("conditions", []).append(cond)))
        else:
            cert = sign(ca, request, usages, csr.spec.get("expirationSeconds"), now, rng)
            data = base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()
            store.update(csr.evolve(lambda d: d.setdefault("status", {}).__setitem__("certificate", data)))
        handled.append(csr.name)
    return handled


def user_from_certificate(cert: x509.Certificate) -> tuple[str, tuple[str, ...]]:
    """Who a client certificate authenticates as (the x509 authenticator): CN the user, each O a group."""
    cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return (str(cn[0]) if cn else ""), orgs
