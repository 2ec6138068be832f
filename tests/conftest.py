"""Suite-wide pytest set-up: `--update-golden`, and hypothesis profiles.

Under CI (the CI environment variable set, as .ci/run runs) hypothesis is
derandomized, so a submission's checks are the same examples every run; no
test has a deadline, since CI machines are shared and timings are not what
these tests check.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ files from the current output instead of comparing",
    )
