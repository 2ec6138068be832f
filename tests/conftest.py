"""Suite-wide pytest set-up: `--update-golden` and the `golden_file` fixture, and hypothesis profiles.

Under CI (the CI environment variable set, as .ci/run runs) hypothesis is
derandomized, so a submission's checks are the same examples every run; no
test has a deadline, since CI machines are shared and timings are not what
these tests check.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

GOLDEN_ROOT = Path(__file__).parent / "golden"

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


@pytest.fixture
def golden_file(request):
    """check(relative, text): compare `text` with tests/golden/<relative>; a diff and the whole output on mismatch.

    With `--update-golden` the file is (re)written instead, to be reviewed in the diff of
    the commit. A missing golden file is a failure, never a silent pass.
    """
    update = bool(request.config.getoption("--update-golden"))

    def check(relative: str, text: str) -> None:
        path = GOLDEN_ROOT / relative
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path}; run pytest --update-golden and review it")
        expected = path.read_text()
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                f"tests/golden/{relative}", "actual"))
            pytest.fail(f"tests/golden/{relative} differs:\n{diff}\n--- whole output ---\n{text}")

    return check
