"""Fixtures for the kubeproxy tests: the golden-file comparison.

`--update-golden` is defined suite-wide in tests/conftest.py; `golden` compares
a text with tests/golden/kubeproxy/<scenario>/<node><suffix> (`.rules`: what
iptables-save prints; `.restore`: what kube-proxy writes; `.nL`: iptables -nL),
prints a unified diff and the whole output on mismatch, and rewrites the file
instead when the option is given.
"""

from __future__ import annotations

import pytest

from kp_support import GOLDEN_DIR, assert_text_equal


@pytest.fixture
def golden(request):
    try:
        update = bool(request.config.getoption("--update-golden"))
    except ValueError:
        update = False

    def check(scenario: str, node: str, text: str, suffix: str = ".rules") -> None:
        path = GOLDEN_DIR / scenario / f"{node}{suffix}"
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path}; run pytest --update-golden and review it")
        assert_text_equal(path.read_text(), text, f"golden {path.relative_to(GOLDEN_DIR.parents[2])}")

    return check
