"""CertificateSigningRequest: kubectl approve/deny and the kube-apiserver-client signer, from a seeded cluster CA."""

from __future__ import annotations

import argparse
import base64

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from netsim.api.store import Store
from netsim.auth import certificates as certs
from netsim.auth.errors import CertificateError
from netsim.auth.rbac import Authorizer, Attributes, UserInfo
from netsim.sim.clock import DEFAULT_START
from netsim.sim.rng import Random

NOW = DEFAULT_START + 3600


@pytest.fixture(scope="module")
def ca() -> certs.ClusterCA:
    return certs.ca_for_seed(0, DEFAULT_START)


def _request(cn: str = "alice", orgs: tuple[str, ...] = ("dev",), seed: int = 7) -> str:
    key = ec.derive_private_key(int(np.random.default_rng(seed).integers(1, 2**62)), ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def _store(*csrs: dict) -> Store:
    store = Store(clock=lambda: NOW, rng=np.random.default_rng(0))
    for c in csrs:
        store.create(c)
    return store


def csr(name: str, usages=("client auth",), signer=certs.KUBE_APISERVER_CLIENT, expiration=None, **kw) -> dict:
    spec = {"request": _request(**kw), "signerName": signer, "usages": list(usages)}
    if expiration is not None:
        spec["expirationSeconds"] = expiration
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": spec}


def _cert(store: Store, name: str) -> x509.Certificate | None:
    data = store.get("CertificateSigningRequest", name).status.get("certificate")
    return x509.load_pem_x509_certificate(base64.b64decode(data)) if data else None


def _conditions(store: Store, name: str) -> list[tuple[str, str]]:
    return [(c["type"], c["reason"]) for c in store.get("CertificateSigningRequest", name).status.get("conditions", [])]


def test_the_ca_is_kubeadms_and_seeded(ca: certs.ClusterCA) -> None:
    cert = ca.certificate
    assert cert.subject.rfc4514_string() == "CN=kubernetes" and cert.issuer == cert.subject
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.public_key().key_size == 2048
    assert cert.not_valid_before_utc.timestamp() == DEFAULT_START
    assert cert.not_valid_after_utc.timestamp() == DEFAULT_START + certs.CA_VALIDITY
    again = certs.cluster_ca(Random(0).child("cluster-ca").generator, DEFAULT_START)
    assert again.pem == ca.pem                                   # same seed, same bytes


def test_approve_then_sign(ca: certs.ClusterCA) -> None:
    store = _store(csr("alice", usages=("digital signature", "key encipherment", "client auth")))
    assert certs.reconcile(store, ca, NOW, np.random.default_rng(1)) == []          # not approved yet
    line = certs.approve(store, "alice", NOW)
    assert line == "certificatesigningrequest.certificates.k8s.io/alice approved"
    assert _conditions(store, "alice") == [("Approved", "KubectlApprove")]
    cond = store.get("CertificateSigningRequest", "alice").status["conditions"][0]
    assert cond["message"] == "This CSR was approved by kubectl certificate approve."
    assert certs.reconcile(store, ca, NOW, np.random.default_rng(1)) == ["alice"]
    cert = _cert(store, "alice")
    assert cert.subject.rfc4514_string() == "CN=alice,O=dev" and cert.issuer.rfc4514_string() == "CN=kubernetes"
    ca.certificate.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                       cert.signature_hash_algorithm)
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH])
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # validity: the simulated clock, backdated 5 minutes, one year (--cluster-signing-duration), end backdated too
    assert cert.not_valid_before_utc.timestamp() == NOW - 300
    assert cert.not_valid_after_utc.timestamp() == NOW + 8760 * 3600 - 300
    assert certs.reconcile(store, ca, NOW, np.random.default_rng(1)) == []          # issued once


def test_serial_and_bytes_are_deterministic(ca: certs.ClusterCA) -> None:
    issued = []
    for _ in range(2):
        store = _store(csr("alice"))
        certs.approve(store, "alice", NOW)
        certs.reconcile(store, ca, NOW, Random(0).child("csr-signer").generator)
        issued.append(store.get("CertificateSigningRequest", "alice").status["certificate"])
    assert issued[0] == issued[1]
    serial = x509.load_pem_x509_certificate(base64.b64decode(issued[0])).serial_number
    assert 0 < serial < 2**128


def test_expiration_seconds(ca: certs.ClusterCA) -> None:
    store = _store(csr("short", expiration=3600), csr("tiny", expiration=60, seed=8))
    for name in ("short", "tiny"):
        certs.approve(store, name, NOW)
    certs.reconcile(store, ca, NOW, np.random.default_rng(2))
    short, tiny = _cert(store, "short"), _cert(store, "tiny")
    assert short.not_valid_after_utc.timestamp() == NOW + 3600        # under 8h: the end is not backdated
    assert tiny.not_valid_after_utc.timestamp() == NOW + 600          # at least 10 minutes
    assert certs.certificate_lifetime(10 * 8760 * 3600) == certs.SIGNING_DURATION


def test_deny_and_mutual_exclusion(ca: certs.ClusterCA) -> None:
    store = _store(csr("mallory", cn="mallory"))
    assert certs.deny(store, "mallory", NOW) == "certificatesigningrequest.certificates.k8s.io/mallory denied"
    assert _conditions(store, "mallory") == [("Denied", "KubectlDeny")]
    assert certs.deny(store, "mallory", NOW) .endswith(" denied") and len(_conditions(store, "mallory")) == 1
    with pytest.raises(CertificateError, match="Approved and Denied conditions are mutually exclusive"):
        certs.approve(store, "mallory", NOW)
    assert certs.reconcile(store, ca, NOW, np.random.default_rng(1)) == [] and _cert(store, "mallory") is None


def test_bad_usages_fail_and_other_signers_are_left_alone(ca: certs.ClusterCA) -> None:
    store = _store(csr("server", usages=("server auth", "client auth")),
                   csr("noclient", usages=("digital signature",), seed=9),
                   csr("kubelet", signer="kubernetes.io/kubelet-serving", seed=10))
    for name in ("server", "noclient", "kubelet"):
        certs.approve(store, name, NOW)
    assert certs.reconcile(store, ca, NOW, np.random.default_rng(1)) == ["noclient", "server"]
    assert _conditions(store, "server")[-1] == ("Failed", "SignerValidationFailure")
    msgs = [c["message"] for c in store.get("CertificateSigningRequest", "server").status["conditions"]]
    assert msgs[-1] == "invalid usage for client certificate: server auth"
    assert store.get("CertificateSigningRequest", "noclient").status["conditions"][-1]["message"] == (
        "missing required usage for client certificate: client auth")
    assert _cert(store, "kubelet") is None and _conditions(store, "kubelet") == [("Approved", "KubectlApprove")]


def test_the_certificate_authenticates_as_cn_and_groups(ca: certs.ClusterCA) -> None:
    store = _store(csr("admin", cn="root", orgs=("system:masters",)))
    certs.approve(store, "admin", NOW)
    certs.reconcile(store, ca, NOW, np.random.default_rng(3))
    user, groups = certs.user_from_certificate(_cert(store, "admin"))
    assert (user, groups) == ("root", ("system:masters",))
    who = UserInfo(user, groups + ("system:authenticated",))
    assert Authorizer(store).authorize(Attributes(who, "delete", resource="nodes")).allowed


def test_cli_handler(tmp_path, capsys) -> None:
    from netsim.cli import certificate

    (tmp_path / "csr.yaml").write_text(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: alice\nspec:\n"
        f"  request: {_request()}\n  signerName: {certs.KUBE_APISERVER_CLIENT}\n  usages: [client auth]\n")
    parser = argparse.ArgumentParser()
    certificate.register(parser.add_subparsers())
    args = parser.parse_args(["certificate", "approve", "alice", "--print-certificate", "-f", str(tmp_path)])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("certificatesigningrequest.certificates.k8s.io/alice approved\n-----BEGIN CERTIFICATE-----")
    args = parser.parse_args(["certificate", "deny", "alice", "-f", str(tmp_path)])
    assert args.handler(args) == 0
    assert capsys.readouterr().out == "certificatesigningrequest.certificates.k8s.io/alice denied\n"
