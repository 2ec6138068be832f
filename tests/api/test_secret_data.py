"""A Secret on write: stringData turns into base64 data, and data that is not base64 is refused as the API server does."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from netsim.api.apply import apply_manifests
from netsim.api.defaults import go_base64_error
from netsim.api.errors import InvalidObject
from netsim.api.load import load_text
from netsim.api.store import Store


def store() -> Store:
    return Store(clock=lambda: 0.0, rng=np.random.default_rng(0))


def test_string_data_is_merged_into_data_base64_encoded_and_wins() -> None:
    s = store()
    s.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
              "data": {"a": base64.b64encode(b"old").decode(), "b": "Yg=="}, "stringData": {"a": "new", "c": "é"}})
    secret = s.get("Secret", "x", "default")
    assert "stringData" not in secret.to_dict()
    assert secret.get("data") == {"a": "bmV3", "b": "Yg==", "c": base64.b64encode("é".encode()).decode()}
    assert secret.get("type") == "Opaque"


@pytest.mark.parametrize("text, at", [
    ("aGVsbG8=", None), ("aGVsbA==", None), ("aGVs\nbG8=", None), ("", None),
    ("aGVsbG8", 4),          # a quantum cut short: padding required
    ("aGVs!G8=", 4),         # a character outside the alphabet
    ("aGVsbA=", 7),          # "==" expected, the input ends
    ("aGVsbG8=x", 8),        # something after the padding
    ("a", 0), ("=", 0),
])
def test_base64_errors_at_the_byte_go_reports(text: str, at: int | None) -> None:
    assert go_base64_error(text) == at


def test_bad_base64_is_refused_with_the_api_servers_message() -> None:
    doc = load_text("apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ndata: {password: s3cr3t}\n", "bad.yaml")
    with pytest.raises(InvalidObject) as err:
        apply_manifests(store(), doc)
    message = str(err.value)
    assert "bad.yaml" in message and "(Secret bad)" in message and "data[password]" in message
    assert message.endswith('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4')
