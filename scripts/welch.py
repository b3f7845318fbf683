"""Welch's unequal-variances t-test, for the method study's tables.

The study compares a handful of seeds per variant with unequal spreads, so
it needs Welch's t (Welch-Satterthwaite degrees of freedom) and a two-sided
p-value from Student's t distribution. The .venv has no scipy, so the p-value
comes from the regularised incomplete beta function (Numerical Recipes'
continued fraction, evaluated by the modified Lentz method):
P(|T| > t) = I_{df / (df + t^2)}(df / 2, 1 / 2).
"""

import math
import statistics


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError("incomplete beta: no convergence")


def betainc(a, b, x):
    """The regularised incomplete beta function I_x(a, b)."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x = {x} is outside [0, 1]")
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    # the fraction converges fast for x below the mean a / (a + b)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with `df` (real, > 0) degrees of freedom."""
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def welch(a, b):
    """Welch's t of mean(a) - mean(b), its degrees of freedom and two-sided p.

    Needs at least two values in each sample; (nan, nan, nan) when both
    samples have no spread.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's test needs two or more values per sample")
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0.0:
        return math.nan, math.nan, math.nan
    t = (statistics.mean(a) - statistics.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
    return t, df, t_two_sided_p(t, df)
