"""Fixtures for the kubeproxy tests: the golden-file comparison.

`--update-golden` is defined suite-wide in tests/conftest.py; `golden` compares
a text with tests/golden/kubeproxy/<scenario>/<node><suffix> (`.rules`: what
iptables-save prints; `.restore`: what kube-proxy writes; `.nL`: iptables -nL),
prints a unified diff and the whole output on mismatch, and rewrites the file
instead when the option is given.
"""

from __future__ import annotations

import pytest



@pytest.fixture
def golden(golden_file):
    """check(scenario, node, text, suffix): the suite's golden comparison under tests/golden/kubeproxy/."""

    def check(scenario: str, node: str, text: str, suffix: str = ".rules") -> None:
        golden_file(f"kubeproxy/{scenario}/{node}{suffix}", text)

    return check
