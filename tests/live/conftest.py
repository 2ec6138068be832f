"""Live tests run only where this process can build network namespaces; otherwise they skip with the reason.

Every namespace they make is a live run's own (registered, `nsl-<run>-<n>`),
traffic flows only between those namespaces, and each run removes itself.
"""

from __future__ import annotations

import pytest

from netsim.live.errors import LiveUnavailable
from netsim.live.registry import check_available


def live_unavailable() -> str | None:
    """Why live runs cannot happen here, or None."""
    try:
        check_available()
    except LiveUnavailable as err:
        return str(err)
    return None


def pytest_collection_modifyitems(config, items):
    reason = live_unavailable()
    if reason is None:
        return
    for item in items:
        if "tests/live/" in str(item.fspath).replace("\\", "/") and "needs_live" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_live: the test builds network namespaces (root, ip netns, iptables)")
