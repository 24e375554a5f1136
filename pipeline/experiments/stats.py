"""A/B statistics on sufficient statistics: no per-user rows ever reach Python.

Each arm arrives as `Moments` (n and the sums, sums of squares and cross-products of the per-user
value y, its denominator d and its pre-period covariate x, centred on a reference near the mean
so that large values keep their precision), aggregated in DuckDB. Users with a non-finite value
never enter a sum: they are counted in `Moments.excluded` (a non-finite pre-period value only
imputes the covariate: `Moments.imputed`). Everything here is a pure function of those moments.

- Mean metrics: Welch's t (absolute difference); the relative difference's interval is
  Fieller's with the same critical value, so it excludes 0 exactly when the test rejects.
- Ratio metrics (sum y / sum d over users, e.g. thumbs-down per request with the user as the
  randomization unit): the delta-method variance of the ratio, normal intervals.
- CUPED: y - theta (x - mean x) with theta = cov(y, x) / var(x) pooled within arms; the variance
  reduction is 1 - var(adjusted) / var(y), about rho^2.
- Sequential: asymptotic confidence sequences (Waudby-Smith et al. 2021) in GrowthBook's
  parameterisation, tuned by N* (the total sample size at which the sequence is tightest).
- Bayesian: a flat prior on the difference, Gaussian posterior: the probability the treatment
  is better and the expected loss of shipping it (in metric units).
- Guardrails: one-sided non-inferiority against an absolute margin.
- Holm: a missing or NaN p counts as 1 (an untestable hypothesis stays in the family).
- SRM: chi-square goodness of fit of the arm counts against the pre-registered allocation.
- Heterogeneity: Cochran's Q across the segments of one dimension (the analysis runs one per
  dimension: `experiments.analysis.segment_heterogeneity`).
- Power: achieved MDE at the current sample, and the sample needed for the pre-registered MDE.

Degenerate input (an empty or single-user arm, zero variance, a zero control mean for a relative
difference) gives a result carrying `reason`, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields, replace

import numpy as np

VARIABLES = ("y", "d", "x", "z")
# the second-order sums, each with the two variables it multiplies (field order = SQL column order)
PRODUCTS = {"sum_y2": ("y", "y"), "sum_d2": ("d", "d"), "sum_yd": ("y", "d"), "sum_x2": ("x", "x"),
            "sum_xy": ("x", "y"), "sum_z2": ("z", "z"), "sum_xz": ("x", "z"), "sum_yz": ("y", "z"),
            "sum_dx": ("d", "x"), "sum_dz": ("d", "z")}


@dataclass(frozen=True)
class Moments:
    """Sufficient statistics of one arm (or one arm within a segment), centred.

    Every sum is of the values minus a reference (`ref_y`, ...; ideally near the mean): sums of
    squares of raw values near 1e8 cancel catastrophically (a unit variance of 2.62 for a true
    1.00), centred ones do not. Covariances are shift-invariant, so they come straight from the
    centred sums; means and ratios add the reference back (`total`). Moments stay additive: `+`
    re-centres the other operand on this one's reference first, exactly. `excluded` counts the
    users left out because their value or denominator was not a finite number (NaN, infinity);
    `imputed` the users kept whose pre-period value was not finite (the covariate set to its
    reference, the mean); both add up too.

    Not covered by the centring: the delta method's own cancellation for a ratio whose per-user
    relative spread is under about 1e-7 (y = 1e8 d + noise of 1), where var y - 2 r cov(y, d) +
    r^2 var d loses the digits in any order of summation."""

    n: int
    sum_y: float
    sum_y2: float
    sum_d: float = 0.0  # denominators; for a mean metric d = 1 (see `mean_moments`)
    sum_d2: float = 0.0
    sum_yd: float = 0.0
    sum_x: float = 0.0  # the pre-period value of the same metric (CUPED covariate)
    sum_x2: float = 0.0
    sum_xy: float = 0.0
    sum_z: float = 0.0  # the pre-period denominator (1 for a mean metric)
    sum_z2: float = 0.0
    sum_xz: float = 0.0
    sum_yz: float = 0.0
    sum_dx: float = 0.0
    sum_dz: float = 0.0
    ref_y: float = 0.0  # the references the sums are centred on
    ref_d: float = 0.0
    ref_x: float = 0.0
    ref_z: float = 0.0
    excluded: int = 0
    imputed: int = 0

    def total(self, v: str) -> float:
        """The raw sum of variable v ("y", "d", "x" or "z")."""
        return getattr(self, f"sum_{v}") + self.n * getattr(self, f"ref_{v}")

    def recentred(self, ref: dict[str, float]) -> Moments:
        """The same statistics centred on `ref` (a value per variable): with delta = old - new,
        sum(a') = sum(a) + n delta_a and sum(a'b') = sum(ab) + delta_b sum(a) + delta_a sum(b) + n delta_a delta_b."""
        delta = {v: getattr(self, f"ref_{v}") - ref[v] for v in VARIABLES}
        if not any(delta.values()):
            return self
        first = {v: getattr(self, f"sum_{v}") for v in VARIABLES}
        changes = {f"sum_{v}": first[v] + self.n * delta[v] for v in VARIABLES}
        for name, (a, b) in PRODUCTS.items():
            changes[name] = (getattr(self, name) + delta[b] * first[a] + delta[a] * first[b]
                             + self.n * delta[a] * delta[b])
        return replace(self, **changes, **{f"ref_{v}": ref[v] for v in VARIABLES})

    def __add__(self, other: Moments) -> Moments:
        counts = {"excluded": self.excluded + other.excluded, "imputed": self.imputed + other.imputed}
        if other.n == 0:  # nothing to re-centre: keep this one's reference (near its data)
            return replace(self, **counts) if other.excluded or other.imputed else self
        if self.n == 0:
            return replace(other, **counts) if self.excluded or self.imputed else other
        other = other.recentred({v: getattr(self, f"ref_{v}") for v in VARIABLES})
        summed = {f: getattr(self, f) + getattr(other, f) for f in ("n", *(f"sum_{v}" for v in VARIABLES), *PRODUCTS)}
        return replace(self, **summed, **counts)

    def astuple(self) -> tuple:
        return astuple(self)

    @classmethod
    def from_record(cls, record: dict) -> Moments:
        """From a SQL row by column name (n, sum_*, ref_*, excluded; a missing or null sum is 0)."""
        values = {f.name: record.get(f.name) for f in fields(cls)}
        return cls(**{k: (int(v or 0) if k in ("n", "excluded", "imputed") else float(v or 0.0))
                      for k, v in values.items()})


def ratio_moments(y: np.ndarray, d: np.ndarray, x: np.ndarray | None = None, z: np.ndarray | None = None) -> Moments:
    """Moments of per-user numerators y, denominators d and their pre-period values x, z, centred
    on their means (tests and small data; the pipeline aggregates in SQL with the same
    definitions): users with a non-finite y or d are left out (`excluded`); a non-finite
    pre-period value is imputed by the mean of the others (`imputed`)."""
    y, d = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    x = np.zeros_like(y) if x is None else np.asarray(x, dtype=float)
    z = np.zeros_like(y) if z is None else np.asarray(z, dtype=float)
    keep = np.isfinite(y) & np.isfinite(d)
    covariate = np.isfinite(x) & np.isfinite(z)
    values = {"y": y[keep], "d": d[keep], "x": x[keep], "z": z[keep]}
    ref = {v: float(values[v].mean()) if keep.any() else 0.0 for v in ("y", "d")}
    ok = covariate[keep]
    ref.update({v: float(values[v][ok].mean()) if ok.any() else 0.0 for v in ("x", "z")})
    centred = {v: values[v] - ref[v] for v in VARIABLES}
    for v in ("x", "z"):
        centred[v] = np.where(ok, centred[v], 0.0)
    sums = {f"sum_{v}": float(centred[v].sum()) for v in VARIABLES}
    sums.update({name: float((centred[a] * centred[b]).sum()) for name, (a, b) in PRODUCTS.items()})
    return Moments(int(keep.sum()), **sums, **{f"ref_{v}": ref[v] for v in VARIABLES}, excluded=int((~keep).sum()),
                   imputed=int((~ok).sum()))


def mean_moments(y: np.ndarray, x: np.ndarray | None = None) -> Moments:
    """Moments of per-user values: a ratio whose denominators are all 1."""
    ones = np.ones(len(y))
    return ratio_moments(y, ones, x, ones)


def _cov(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float:
    """Sample covariance (n - 1 denominator) from sums."""
    return (sum_ab - sum_a * sum_b / n) / (n - 1)


@dataclass(frozen=True)
class ArmEstimate:
    n: int
    mean: float  # mean of y, or sum y / sum d for a ratio metric
    var_mean: float  # variance of `mean` as an estimator
    unit_var: float  # per-unit variance: var_mean * n
    no_denominator: bool = False  # a ratio metric whose denominators are all 0: nothing to estimate


def arm_estimate(m: Moments, ratio: bool) -> ArmEstimate:
    """Mean (or ratio) of one arm and the variance of that estimate (NaN under 2 users)."""
    total_y, total_d = m.total("y"), m.total("d")
    if m.n < 2:
        mean = (total_y / total_d if total_d else math.nan) if ratio else (total_y / m.n if m.n else math.nan)
        return ArmEstimate(m.n, mean, math.nan, math.nan)
    if not ratio:
        var = max(_cov(m.n, m.sum_y, m.sum_y, m.sum_y2), 0.0)
        return ArmEstimate(m.n, total_y / m.n, var / m.n, var)
    if total_d == 0:  # no denominator at all (no requests, no edited responses): nothing to estimate
        return ArmEstimate(m.n, math.nan, math.nan, math.nan, no_denominator=True)
    d_bar, r = total_d / m.n, total_y / total_d
    # delta method: var(ybar / dbar) = (s_y^2 - 2 r s_yd + r^2 s_d^2) / (n dbar^2)
    unit = (_cov(m.n, m.sum_y, m.sum_y, m.sum_y2) - 2 * r * _cov(m.n, m.sum_y, m.sum_d, m.sum_yd)
            + r * r * _cov(m.n, m.sum_d, m.sum_d, m.sum_d2)) / (d_bar * d_bar)
    unit = max(unit, 0.0)
    return ArmEstimate(m.n, r, unit / m.n, unit)


@dataclass(frozen=True)
class Cuped:
    theta: float
    x_mean: float  # pooled pre-period mean (or pooled pre-period ratio)
    variance_reduction: float  # 1 - var(adjusted) / var(unadjusted), pooled over arms


def _linearized(m: Moments, ratio: bool) -> tuple[float, float, float, float, float] | None:
    """(estimate, pre-period estimate, var L, cov(L, K), var K) per unit, where L and K are the
    delta-method linearizations of y/d and x/z: L = (y - r d) / dbar, K = (x - r_x z) / zbar.
    For a mean metric (d = z = 1) these are plain var(y), cov(x, y), var(x)."""
    n = m.n
    if not ratio:
        return (m.total("y") / n, m.total("x") / n, _cov(n, m.sum_y, m.sum_y, m.sum_y2), _cov(n, m.sum_x, m.sum_y, m.sum_xy),
                _cov(n, m.sum_x, m.sum_x, m.sum_x2))
    total_d, total_z = m.total("d"), m.total("z")
    if total_d <= 0 or total_z <= 0:
        return None
    r, rx, dbar, zbar = m.total("y") / total_d, m.total("x") / total_z, total_d / n, total_z / n
    var_l = (_cov(n, m.sum_y, m.sum_y, m.sum_y2) - 2 * r * _cov(n, m.sum_y, m.sum_d, m.sum_yd)
             + r * r * _cov(n, m.sum_d, m.sum_d, m.sum_d2)) / (dbar * dbar)
    var_k = (_cov(n, m.sum_x, m.sum_x, m.sum_x2) - 2 * rx * _cov(n, m.sum_x, m.sum_z, m.sum_xz)
             + rx * rx * _cov(n, m.sum_z, m.sum_z, m.sum_z2)) / (zbar * zbar)
    cov_lk = (_cov(n, m.sum_y, m.sum_x, m.sum_xy) - rx * _cov(n, m.sum_y, m.sum_z, m.sum_yz)
              - r * _cov(n, m.sum_d, m.sum_x, m.sum_dx) + r * rx * _cov(n, m.sum_d, m.sum_z, m.sum_dz)) / (dbar * zbar)
    return r, rx, var_l, cov_lk, var_k


def cuped_theta(arms: list[Moments], ratio: bool = False) -> Cuped | None:
    """theta = pooled within-arm cov(L, K) / var(K) (L, K as in `_linearized`); None when an arm
    has under 2 users or the covariate has no variance. For ratio metrics this is the
    linearized CUPED of Deng et al. (2013), section 3.4."""
    if any(m.n < 2 for m in arms):
        return None
    lins = [_linearized(m, ratio) for m in arms]
    if any(lin is None for lin in lins):
        return None
    syy = sum((m.n - 1) * lin[2] for m, lin in zip(arms, lins))
    sxy = sum((m.n - 1) * lin[3] for m, lin in zip(arms, lins))
    sxx = sum((m.n - 1) * lin[4] for m, lin in zip(arms, lins))
    if not sxx > 0 or not syy > 0:
        return None
    theta = sxy / sxx
    reduction = 1 - (syy - 2 * theta * sxy + theta * theta * sxx) / syy
    pooled = sum(m.total("x") for m in arms) / (sum(m.total("z") for m in arms) if ratio else sum(m.n for m in arms))
    return Cuped(theta, pooled, reduction)


def cuped_estimate(m: Moments, c: Cuped, ratio: bool = False) -> ArmEstimate:
    """The arm's CUPED-adjusted estimate, est - theta (pre-period est - pooled), with its variance."""
    est, pre, var_l, cov_lk, var_k = _linearized(m, ratio)
    unit = max(var_l - 2 * c.theta * cov_lk + c.theta ** 2 * var_k, 0.0)
    return ArmEstimate(m.n, est - c.theta * (pre - c.x_mean), unit / m.n, unit)


def sequential_rho(alpha: float, n_star: float) -> float:
    """GrowthBook's tuning: the confidence sequence is tightest near n_star total units."""
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n_star)


def sequential_halfwidth(var_diff: float, n_total: int, alpha: float, n_star: float) -> float:
    """Half-width of the two-sided asymptotic confidence sequence for a difference whose
    estimator variance is var_diff at n_total units (Waudby-Smith et al. 2021, eq. 2.10)."""
    rho = sequential_rho(alpha, n_star)
    sigma = math.sqrt(var_diff * n_total)  # per-unit standard deviation
    n = n_total
    return sigma * math.sqrt(2 * (n * rho ** 2 + 1) / (n * n * rho ** 2) * math.log(math.sqrt(n * rho ** 2 + 1) / alpha))


def sequential_p_value(diff: float, var_diff: float, n_total: int, alpha: float, n_star: float) -> float:
    """Always-valid p-value: the level alpha' at which the confidence sequence (rho fixed by the
    design alpha and N*) has |diff| as its half-width, solved in closed form, capped at 1."""
    if var_diff <= 0:
        return 0.0 if diff != 0 else 1.0
    rho2, n = sequential_rho(alpha, n_star) ** 2, n_total
    sigma2 = var_diff * n
    return float(min(1.0, math.sqrt(n * rho2 + 1) * math.exp(-diff * diff * n * n * rho2 / (2 * sigma2 * (n * rho2 + 1)))))


@dataclass(frozen=True)
class Comparison:
    """Treatment against control on one metric. `reason` is set when no estimate is possible."""

    n_control: int
    n_treatment: int
    mean_control: float | None = None
    mean_treatment: float | None = None
    diff: float | None = None
    diff_low: float | None = None
    diff_high: float | None = None
    se: float | None = None
    df: float | None = None
    p_value: float | None = None
    rel: float | None = None
    rel_low: float | None = None
    rel_high: float | None = None
    chance_to_win: float | None = None
    expected_loss: float | None = None  # of shipping the treatment, in metric units
    method: str = ""
    reason: str | None = None


def _quantile(df: float | None, q: float) -> float:
    from scipy import stats
    return float(stats.norm.ppf(q) if df is None or math.isinf(df) else stats.t.ppf(q, df))


def _sf(df: float | None, t: float) -> float:
    from scipy import stats
    return float(stats.norm.sf(t) if df is None or math.isinf(df) else stats.t.sf(t, df))


def fieller(c: float, var_c: float, t: float, var_t: float, q: float) -> tuple[float, float] | None:
    """Fieller's interval for t / c from independent estimates: every R with
    (t - R c)^2 <= q^2 (var_t + R^2 var_c). R = 1 lies inside exactly when |t - c| / se <= q, so
    with the absolute test's critical value the relative interval excludes 0 exactly when the
    test rejects (the delta method's symmetric interval does not, and undercovers at small n).
    None when c is within q standard errors of 0: the set is then unbounded."""
    a = c * c - q * q * var_c
    if a <= 0:
        return None
    root = q * math.sqrt(var_t * c * c + var_c * t * t - q * q * var_t * var_c)
    low, high = (t * c - root) / a, (t * c + root) / a
    return (low, high)


def compare(control: ArmEstimate, treatment: ArmEstimate, *, alpha: float = 0.05, higher_is_better: bool = True,
            welch: bool = True, sequential_n_star: float | None = None, method: str = "") -> Comparison:
    """Difference, relative difference, p-value and Bayesian summary of treatment - control.

    welch=True uses Welch-Satterthwaite degrees of freedom (mean metrics); otherwise normal
    quantiles (ratio and CUPED estimates). With sequential_n_star the interval is the
    always-valid confidence sequence and the p-value its always-valid counterpart. The relative
    difference's interval is Fieller's with the same critical value as the absolute interval
    (None when the control mean is indistinguishable from 0)."""
    from scipy import stats
    c, t = control, treatment
    base = Comparison(c.n, t.n, method=method)
    for arm, name in ((c, "control"), (t, "treatment")):
        if arm.n < 2:
            return replace(base, reason=f"{name} arm has {arm.n} user(s); at least 2 are needed")
        if arm.no_denominator:
            return replace(base, reason=f"{name} arm has no denominator (a ratio metric with nothing to divide by)")
        if not math.isfinite(arm.mean):
            return replace(base, reason=f"{name} arm's values overflow double precision (their sums pass about 1e308): "
                                        "rescale the metric")
    var = c.var_mean + t.var_mean
    diff = t.mean - c.mean
    if not (math.isfinite(var) and math.isfinite(diff)):
        return replace(base, reason="the values overflow a double (a variance or difference is not finite): "
                                    "rescale the metric")
    if var <= 0:
        return replace(base, mean_control=c.mean, mean_treatment=t.mean, diff=diff,
                        reason="zero variance in both arms: no interval or test is possible")
    se = math.sqrt(var)
    df = None
    if welch:
        # Welch-Satterthwaite on the variances' shares of the total (squaring 1e-160 underflows to 0)
        df = 1 / ((c.var_mean / var) ** 2 / (c.n - 1) + (t.var_mean / var) ** 2 / (t.n - 1))
    if sequential_n_star:
        half = sequential_halfwidth(var, c.n + t.n, alpha, sequential_n_star)
        p = sequential_p_value(diff, var, c.n + t.n, alpha, sequential_n_star)
    else:
        half = _quantile(df, 1 - alpha / 2) * se
        p = 2 * _sf(df, abs(diff) / se)
    rel = rel_low = rel_high = None
    if c.mean != 0:
        rel = t.mean / c.mean - 1
        # the relative interval uses the absolute one's critical value (t, normal or the sequence's)
        bounds = fieller(c.mean, c.var_mean, t.mean, t.var_mean, half / se)
        if bounds is not None:
            rel_low, rel_high = bounds[0] - 1, bounds[1] - 1
    good = diff if higher_is_better else -diff
    chance = float(stats.norm.cdf(good / se))
    loss = float(se * stats.norm.pdf(good / se) - good * stats.norm.cdf(-good / se))  # E[max(0, -good)]
    return Comparison(c.n, t.n, c.mean, t.mean, diff, diff - half, diff + half, se, df, min(1.0, p), rel, rel_low,
                      rel_high, chance, loss, method)


@dataclass(frozen=True)
class NonInferiority:
    margin: float
    p_value: float | None
    bound: float | None  # the one-sided confidence bound on the harm side
    passed: bool | None  # None: not testable (see the comparison's reason)
    harmful: bool | None  # the whole interval lies beyond the margin: significantly worse than allowed


def non_inferiority(comp: Comparison, margin: float, *, higher_is_better: bool, alpha: float = 0.05,
                    sequential_n_star: float | None = None) -> NonInferiority:
    """H0: the treatment is worse than control by more than `margin` (absolute, metric units).
    Rejected (passed) when the one-sided (1 - alpha) bound on the harm side is within the margin."""
    if comp.diff is None or comp.se is None:
        return NonInferiority(margin, None, None, None, None)
    harm = -comp.diff if higher_is_better else comp.diff  # positive: the treatment is worse
    if sequential_n_star:
        half = sequential_halfwidth(comp.se ** 2, comp.n_control + comp.n_treatment, 2 * alpha, sequential_n_star)
        p = sequential_p_value(margin - harm, comp.se ** 2, comp.n_control + comp.n_treatment, 2 * alpha,
                               sequential_n_star) / 2 if harm < margin else 1.0
    else:
        half = _quantile(comp.df, 1 - alpha) * comp.se
        p = _sf(comp.df, (margin - harm) / comp.se)
    upper_harm = harm + half
    bound = comp.diff - half if higher_is_better else comp.diff + half
    return NonInferiority(margin, float(p), float(bound), bool(upper_harm < margin), bool(harm - half > margin))


def srm_p_value(counts: dict[str, int], allocation: dict[str, float]) -> float:
    """Chi-square goodness of fit of the observed arm sizes against the expected allocation."""
    from scipy import stats
    names = list(allocation)
    observed = np.array([counts.get(v, 0) for v in names], dtype=float)
    if observed.sum() == 0:
        return 1.0
    weights = np.array([allocation[v] for v in names], dtype=float)
    expected = observed.sum() * weights / weights.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1). A p-value that is
    missing or NaN (a hypothesis that could not be tested) counts as 1: it stays in the family."""
    p_values = [1.0 if p is None or math.isnan(p) else p for p in p_values]
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Heterogeneity:
    q: float
    df: int
    p_value: float
    i_squared: float


def heterogeneity(estimates: list[float], ses: list[float]) -> Heterogeneity | None:
    """Cochran's Q: do the segment effects differ by more than their noise? None under 2 segments."""
    from scipy import stats
    pairs = [(e, s) for e, s in zip(estimates, ses) if e is not None and s and s > 0]
    if len(pairs) < 2:
        return None
    e = np.array([p[0] for p in pairs])
    w = 1 / np.array([p[1] for p in pairs]) ** 2
    pooled = (w * e).sum() / w.sum()
    q = float((w * (e - pooled) ** 2).sum())
    df = len(pairs) - 1
    return Heterogeneity(q, df, float(stats.chi2.sf(q, df)), max(0.0, (q - df) / q) if q > 0 else 0.0)


@dataclass(frozen=True)
class Power:
    achieved_mde_abs: float | None  # the smallest true difference detectable now at the given power
    achieved_mde_rel: float | None
    required_n_per_arm: int | None  # for the pre-registered relative MDE
    reason: str | None = None


def power_analysis(control: ArmEstimate, treatment: ArmEstimate, *, alpha: float, power: float,
                   target_rel: float | None) -> Power:
    """Two-sided test at `alpha`: achieved MDE = (z_{1-alpha/2} + z_power) * se at the current
    sample; the sample per arm that detects `target_rel` (relative to the control mean) with the
    observed per-unit variances: n = z^2 (s_c^2 + s_t^2) / delta^2."""
    from scipy import stats
    if control.n < 2 or treatment.n < 2:
        return Power(None, None, None, "an arm has fewer than 2 users")
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    mde_abs = z * math.sqrt(control.var_mean + treatment.var_mean)
    if not control.mean:
        return Power(mde_abs, None, None, "control mean is 0: a relative MDE is undefined")
    need = None
    if target_rel:
        delta = target_rel * abs(control.mean)
        need = math.ceil(z * z * (control.unit_var + treatment.unit_var) / (delta * delta))
    return Power(mde_abs, mde_abs / abs(control.mean), need)
