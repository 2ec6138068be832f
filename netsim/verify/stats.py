"""Pearson's chi-square tests with their p-values, without scipy: the regularized upper incomplete gamma function.

`chi2_sf(x, df)` is Q(df/2, x/2), computed as Numerical Recipes' `gammq`
does: the series for P when x < a+1, else the continued fraction for Q
(modified Lentz). Accurate to ~1e-12 relative, plenty for a p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a)."""
    if a <= 0:
        raise ValueError(f"a must be positive, got {a}")
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(_MAX_ITER):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return min(1.0, math.exp(log_front) * h)


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X chi-square with `df` degrees of freedom."""
    if df <= 0:
        return 1.0
    return gammaincc(df / 2, x / 2)


@dataclass(frozen=True, slots=True)
class ChiSquare:
    """A chi-square test's statistic, degrees of freedom and p-value."""

    statistic: float
    df: int
    p_value: float

    def format(self) -> str:
        """`chi2 = 1.234, df 2, p = 0.5394`."""
        return f"chi2 = {self.statistic:.3f}, df {self.df}, p = {self.p_value:.4f}"


def goodness_of_fit(observed: Sequence[int], expected_shares: Sequence[float]) -> ChiSquare:
    """Pearson's test of counts against expected shares (categories expected at 0 must be observed at 0)."""
    obs = np.asarray(observed, dtype=float)
    shares = np.asarray(expected_shares, dtype=float)
    expected = shares * obs.sum()
    live = expected > 0
    if np.any(obs[~live] > 0):
        return ChiSquare(math.inf, int(live.sum()) - 1, 0.0)
    statistic = float(np.sum((obs[live] - expected[live]) ** 2 / expected[live]))
    df = int(live.sum()) - 1
    return ChiSquare(statistic, df, chi2_sf(statistic, df))


def homogeneity(a: Sequence[int], b: Sequence[int]) -> ChiSquare:
    """Pearson's test that two count vectors over the same categories come from one distribution."""
    table = np.array([a, b], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or np.any(table.sum(axis=1) == 0):
        return ChiSquare(0.0, 0, 1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    df = table.shape[1] - 1
    return ChiSquare(statistic, df, chi2_sf(statistic, df))
