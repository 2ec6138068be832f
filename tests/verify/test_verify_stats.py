"""The chi-square p-values against known quantiles and a numeric integral; the tests on counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.verify.stats import chi2_sf, gammaincc, goodness_of_fit, homogeneity


@pytest.mark.parametrize("x, df, p", [
    (3.841458820694124, 1, 0.05), (6.634896601021214, 1, 0.01), (5.991464547107979, 2, 0.05),
    (7.814727903251178, 3, 0.05), (18.307038053275146, 10, 0.05), (124.34211340400407, 100, 0.05),
    (0.0, 4, 1.0),
])
def test_known_chi_square_quantiles(x: float, df: int, p: float) -> None:
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-9, abs=1e-15)


def test_closed_forms() -> None:
    for x in (0.1, 1.0, 2.5, 10.0, 40.0):
        assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)  # df 2: exp(-x/2)
        assert gammaincc(0.5, x) == pytest.approx(math.erfc(math.sqrt(x)), rel=1e-10)


@given(st.floats(0.2, 30), st.floats(0.01, 60))
def test_q_matches_a_numeric_integral(a: float, x: float) -> None:
    t = np.linspace(x, x + 80 + 10 * a, 400_001)
    integrand = np.exp((a - 1) * np.log(t) - t - math.lgamma(a))
    numeric = float(np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(t)))
    assert gammaincc(a, x) == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_goodness_of_fit_and_homogeneity() -> None:
    fair = goodness_of_fit([50, 50], [0.5, 0.5])
    assert fair.statistic == 0 and fair.p_value == 1.0 and fair.df == 1
    skewed = goodness_of_fit([90, 10], [0.5, 0.5])
    assert skewed.statistic == pytest.approx(64.0) and skewed.p_value < 1e-14
    impossible = goodness_of_fit([5, 1], [1.0, 0.0])
    assert impossible.p_value == 0.0
    same = homogeneity([100, 200, 300], [10, 20, 30])
    assert same.statistic == pytest.approx(0.0, abs=1e-12) and same.df == 2
    assert homogeneity([100, 0], [0, 100]).p_value < 1e-20
