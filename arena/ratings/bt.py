"""Bradley-Terry maximum likelihood on pair totals, solved exactly by Newton's method.

Ratings are logits theta times 400/ln 10: P(i beats j) = 1 / (1 + 10**((R_j - R_i) / 400)). The fit is
unregularised; the gauge (a common shift of all theta) is fixed at mean zero and moved to the anchor later.

Ties are either half a win for each side (``davidson=False``, as arena-rank and FastChat do) or modelled
by Davidson (1970): P(i wins) = pi_i / D and P(tie) = nu sqrt(pi_i pi_j) / D, where
D = pi_i + pi_j + nu sqrt(pi_i pi_j) and nu = exp(lam) is fitted jointly. In Davidson mode a score of
exactly 0.5 is a tie and any other score s counts as s of a win and 1 - s of a loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit

from arena.ratings.errors import RatingError
from arena.ratings.pairs import PairData, check_identifiable

RATING_PER_LOGIT = 400.0 / math.log(10.0)
TOLERANCE = 1e-10  # largest Newton step (in logits) at convergence: ~2e-8 rating points
BOOTSTRAP_TOLERANCE = 1e-6  # 2e-4 rating points: 1000x below a 1000-round quantile's Monte Carlo error
MAX_ITERATIONS = 200


@dataclass(frozen=True)
class Terms:
    """Log-likelihood pieces per pair (or per cell), each of shape (R, P); None where not asked for."""

    gd: np.ndarray  # d ll / d d, with d = theta_i - theta_j
    ll: np.ndarray | None = None  # log-likelihood
    hd: np.ndarray | None = None  # -d2 ll / d d2 (>= 0)
    gl: np.ndarray | None = None  # d ll / d lam (Davidson only)
    hl: np.ndarray | None = None  # -d2 ll / d lam2
    hdl: np.ndarray | None = None  # -d2 ll / d d d lam


def pair_terms(
    d: np.ndarray, lam: np.ndarray | None, stats: np.ndarray, *, with_ll: bool = True, curvature: bool = True
) -> Terms:
    """Log-likelihood, gradient and curvature of each pair at logit gap ``d`` (shape (R, P)).

    The bootstrap's chord steps need only the gradient, and skipping the rest halves their cost.
    """
    win, tie, loss = stats
    if lam is None:
        total = win + loss
        p = expit(d)
        return Terms(
            gd=win - total * p,
            ll=win * d - total * np.logaddexp(0.0, d) if with_ll else None,
            hd=total * p * (1.0 - p) if curvature else None,
        )
    # Davidson, written in e = exp(-|d|/2) so that nothing overflows for large gaps.
    lam = lam[:, None]
    nu = np.exp(lam)
    half = np.abs(d) / 2.0
    e = np.exp(-half)
    q = 1.0 + e * e + nu * e  # D = exp(d/2) + exp(-d/2) + nu = exp(|d|/2) * q
    sh = np.sign(d) * (1.0 - e * e) / (2.0 * q)  # sinh(d/2) / D
    nu_d = nu * e / q  # nu / D
    total = win + tie + loss
    terms = Terms(
        gd=(win - loss) / 2.0 - total * sh,
        gl=tie - total * nu_d,
        ll=(win - loss) * d / 2.0 + tie * lam - total * (half + np.log(q)) if with_ll else None,
    )
    if not curvature:
        return terms
    ch = (1.0 + e * e) / (2.0 * q)  # cosh(d/2) / D
    return replace(
        terms, hd=total * (ch / 2.0 - sh * sh), hl=total * nu_d * (1.0 - nu_d), hdl=-total * sh * nu_d
    )


def gradient(data: PairData, terms: Terms) -> np.ndarray:
    """(R, n_params) gradient: theta, then lam."""
    g = np.asarray(data.incidence @ terms.gd.T).T
    return g if terms.gl is None else np.column_stack([g, terms.gl.sum(axis=-1)])


def information(data: PairData, terms: Terms) -> np.ndarray:
    """(R, n, n) observed information (minus the Hessian) plus 1 1' on theta, which fixes mean(theta)."""
    rounds, m = terms.hd.shape[0], data.m
    n = m + (terms.gl is not None)
    info = np.zeros((rounds, n, n))
    info[:, :m, :m] = 1.0  # the gauge term: theta and theta + c fit equally well
    info[:, data.i, data.j] -= terms.hd
    info[:, data.j, data.i] -= terms.hd
    info[:, np.arange(m), np.arange(m)] += np.asarray(abs(data.incidence) @ terms.hd.T).T
    if terms.gl is not None:
        cross = np.asarray(data.incidence @ terms.hdl.T).T
        info[:, :m, m] = cross
        info[:, m, :m] = cross
        info[:, m, m] = terms.hl.sum(axis=-1)
    return info


def evaluate(data: PairData, params: np.ndarray, stats: np.ndarray, **wanted: bool) -> Terms:
    """Pair terms at (R, n_params) parameters; ``stats`` is (3, P) or (3, R, P)."""
    theta = params[:, : data.m]
    lam = params[:, data.m] if data.davidson else None
    return pair_terms(theta[:, data.i] - theta[:, data.j], lam, stats, **wanted)


@dataclass(frozen=True, eq=False)
class Fit:
    """A point fit: logits theta (mean zero), the Davidson log tie parameter, and the information."""

    data: PairData
    stats: np.ndarray  # (3, P) win, tie, loss per pair
    theta: np.ndarray  # (m,)
    lam: float | None
    info: np.ndarray  # (n, n) information plus the gauge term, at the optimum

    @property
    def params(self) -> np.ndarray:
        return self.theta if self.lam is None else np.append(self.theta, self.lam)

    @property
    def tie_parameter(self) -> float | None:
        """Davidson's nu (P(tie) = nu / (2 + nu) between equals), None for half-win ties."""
        return None if self.lam is None else math.exp(self.lam)


def newton(data: PairData, stats: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """Maximise one likelihood from ``start`` with step halving; None if it does not converge."""
    params = start.astype(np.float64).copy()
    terms = evaluate(data, params[None, :], stats)
    ll = terms.ll.sum()
    for _ in range(MAX_ITERATIONS):
        try:
            step = np.linalg.solve(information(data, terms)[0], gradient(data, terms)[0])
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        for _ in range(60):
            trial_terms = evaluate(data, (params + step)[None, :], stats)
            trial_ll = trial_terms.ll.sum()
            # Concave, so a full step is almost always taken; halving guards the first steps from zero.
            if trial_ll >= ll - 1e-12 * abs(ll):
                break
            step /= 2.0
        params, terms, ll = params + step, trial_terms, trial_ll
        if np.max(np.abs(step)) < TOLERANCE:
            return params
    return None


def _starting_lam(stats: np.ndarray) -> float:
    """Between equals P(tie) = nu / (2 + nu): start nu from the share of ties."""
    tie_share = stats[1].sum() / stats.sum()
    return math.log(2.0 * tie_share / (1.0 - tie_share))


def fit(data: PairData) -> Fit:
    """The maximum likelihood ratings of ``data``; RatingError when they are infinite or not unique."""
    stats = data.stats()
    check_identifiable(data, stats)
    if data.davidson and stats[1].sum() == 0:
        # No ties at all: nu's estimate is 0, where Davidson is plain Bradley-Terry.
        data = replace(data, davidson=False)
    start = np.zeros(data.m + data.davidson)
    if data.davidson:
        start[-1] = _starting_lam(stats)
    params = newton(data, stats, start)
    if params is None:
        raise RatingError(f"Newton's method did not converge for models: {', '.join(data.models)}")
    params[: data.m] -= params[: data.m].mean()
    terms = evaluate(data, params[None, :], stats)
    return Fit(
        data=data,
        stats=stats,
        theta=params[: data.m],
        lam=float(params[-1]) if data.davidson else None,
        info=information(data, terms)[0],
    )


def covariance(result: Fit, kind: str = "sandwich") -> np.ndarray:
    """Asymptotic covariance of theta (mean-zero gauge): the sandwich H^-1 B H^-1, or Fisher's H^-1.

    B sums the outer products of per-battle gradients, so the sandwich stays valid when the model is
    misspecified (weights, soft outcomes); it is what arena-rank computes. The 1 1' gauge term drops out
    of the sandwich because 1 is in B's null space, and is subtracted from Fisher's inverse.
    """
    data = result.data
    bread = np.linalg.inv(result.info)
    if kind == "fisher":
        gauge = np.zeros_like(bread)
        gauge[: data.m, : data.m] = 1.0 / data.m**2
        return (bread - gauge)[: data.m, : data.m]
    if kind != "sandwich":
        raise ValueError(f"unknown covariance kind: {kind}")
    cell_d = (result.theta[data.i] - result.theta[data.j])[data.cell_pair]
    lam = None if result.lam is None else np.array([result.lam])
    per_battle = pair_terms(cell_d[None, :], lam, data.credit[:, None, :], with_ll=False, curvature=False)
    cov = bread @ _meat(data, per_battle) @ bread
    return cov[: data.m, : data.m]


def _meat(data: PairData, per_battle: Terms) -> np.ndarray:
    """Sum over battles of g g', g being one battle's gradient in (theta, lam); cells hold equal battles."""
    m, count = data.m, data.count.astype(np.float64)
    gd = per_battle.gd[0]
    pair_dd = np.bincount(data.cell_pair, weights=count * gd * gd, minlength=data.n_pairs)
    n = m + (per_battle.gl is not None)
    meat = np.zeros((n, n))
    meat[data.i, data.j] -= pair_dd
    meat[data.j, data.i] -= pair_dd
    meat[np.arange(m), np.arange(m)] += abs(data.incidence) @ pair_dd
    if per_battle.gl is not None:
        gl = per_battle.gl[0]
        pair_dl = np.bincount(data.cell_pair, weights=count * gd * gl, minlength=data.n_pairs)
        meat[:m, m] = meat[m, :m] = data.incidence @ pair_dl
        meat[m, m] = np.sum(count * gl * gl)
    return meat
