"""Statistical inference for a fitted softmax regression: the computations.

:func:`softmax_inference` (behind :meth:`SoftmaxRegression.inference
<sk_softmax.SoftmaxRegression.inference>`) computes, at the fitted
parameters, what statsmodels' ``MNLogit`` reports, with its definitions:

- the parameters against a reference class ``r``: ``beta_k = w_k - w_r``
  for the other classes ``k`` (``w_k = [W_k, b_k]``);
- the Hessian of the log-likelihood, from the objective's own dense Hessian
  (:meth:`~sk_softmax._objective.SoftmaxObjective.loss_gradient_hessian`:
  per-class-pair products over row blocks, float64, dense or sparse ``X``,
  summed on the Dask workers for Dask input);
- for ``cov_type="HC0"`` and ``"cluster"``, the per-row scores ``g_i =
  (p_i - y_i) (x) x~_i`` summed into ``sum_i s_i g_i g_i^T`` or into per-group
  sums, chunk by chunk where the rows are
  (:meth:`~sk_softmax._objective.SoftmaxObjective.map_rows`; for Dask, per
  block and group label on the workers, then by label on the client:
  :meth:`~sk_softmax._objective._dask.DaskSoftmaxObjective.map_row_groups`);
- the covariance of ``beta``: with ``H`` the Hessian of the whole
  (over-parametrised) ``w`` and ``N`` the directions it is singular along
  (a common shift of the classes' rows), ``B = (H + c N N^T)^{-1} = H^+ +
  N N^T / c`` and ``cov(beta) = D B D^T`` (nonrobust) or ``D B M B D^T``
  (sandwich), with ``D w = (w_k - w_r)_{k != r}``. ``D N = 0``, so this is
  ``D H^+ D^T``, which at the maximum-likelihood fit equals the inverse of
  the Hessian in ``beta`` (statsmodels' ``H^{-1}``); with an L2 penalty
  ``H`` is the penalised Hessian, and ``D H^+ D^T`` the covariance of the
  differences under it (the Laplace approximation);
- the marginal effects and their delta-method Jacobian (:func:`marginal_effects`).

Memory: at most five ``(K (d + 1))^2`` float64 matrices at a time (the
Hessian, its inverse, the sandwich's middle, a chunk's part of it and a
product; three for ``"nonrobust"``); the row chunks add ``K (d + 1)``
numbers per row (scores) or ``2 K^2 d`` (marginal effects), in chunks of
about 16 MiB. ``K (d + 1)`` is limited to :data:`MAX_PARAMS` (800 MB per
matrix).
"""

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import lapack
from sklearn.exceptions import ConvergenceWarning

from ._inference_results import InferenceResults, MarginalEffects

__all__ = [
    "MAX_PARAMS",
    "IllConditionedWarning",
    "check_inference_params",
    "marginal_effects",
    "softmax_inference",
]

#: Largest ``n_classes * (n_features + fit_intercept)`` inference accepts: up
#: to five float64 matrices of that size squared are held (800 MB each at the
#: limit, 4 GB in all).
MAX_PARAMS = 10_000
# Bytes of the per-chunk arrays of the row passes (scores, marginal effects).
_CHUNK_BYTES = 16 * 2**20
# A Hessian whose reciprocal condition number (LAPACK's estimate from its
# Cholesky factor) is below this is reported as singular.
_RCOND_MIN = 1e-12
# Below this (but above _RCOND_MIN) a warning: the standard errors are large
# and unreliable. Measured (Jacobi-scaled Hessians): iris' sepal features,
# whose setosa is separable, 5.2e-8 at the fit of tol=1e-4, 3.5e-10 at 1e-6,
# 4e-14 at 1e-10; identifiable fits 1.9e-5 (iris versicolor / virginica),
# 7.2e-6 (wine, 3 raw features), 0.12 (make_classification), 5.5e-7
# (digits' 44 widest pixels, C=1).
_RCOND_WARN = 1e-7
_COV_TYPES = ("nonrobust", "HC0", "cluster")


class IllConditionedWarning(UserWarning):
    """The information matrix is nearly singular: the standard errors are
    unreliable (see :meth:`SoftmaxRegression.inference`)."""


# ------------------------------------------------------------------ row passes
def _design_chunk(Xc, fit_intercept):
    """``X~_c = [X_c, 1]`` as a float64 (rows, d + 1) array (d without intercept)."""
    Xc = Xc.toarray() if sp.issparse(Xc) else np.asarray(Xc)
    if not fit_intercept:
        return np.asarray(Xc, dtype=np.float64)
    out = np.empty((Xc.shape[0], Xc.shape[1] + 1), dtype=np.float64)
    out[:, :-1] = Xc
    out[:, -1] = 1.0
    return out


def _softmax_rows(Xt, Wb):
    """Probabilities ``softmax(X~ [W, b]^T)``, (rows, K), float64."""
    Z = Xt @ Wb.T
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def _scores(Xc, yc, Wb, fit_intercept):
    """Per-row scores ``(p_i - y_i) (x) x~_i`` as (rows, K * (d + 1)), class-major."""
    Xt = _design_chunk(Xc, fit_intercept)
    R = _softmax_rows(Xt, Wb)
    R[np.arange(R.shape[0]), yc] -= 1.0  # P - Y
    return (R[:, :, None] * Xt[:, None, :]).reshape(Xt.shape[0], -1)


def _score_outer_chunk(Xc, yc, sc, start, Wb, fit_intercept):
    """``(sum_i s_i g_i g_i^T,)`` over the chunk (``s`` normalised weights)."""
    A = _scores(Xc, yc, Wb, fit_intercept)
    return ((A * sc[:, None]).T @ A,)


def _score_group_chunk(Xc, yc, sc, start, Wb, fit_intercept, codes, out):
    """``out[g] += sum_{i in g} s_i g_i`` (in place, in this process)."""
    A = _scores(Xc, yc, Wb, fit_intercept)
    rows = A.shape[0]
    ind = sp.csr_matrix(
        (sc, (codes[start : start + rows], np.arange(rows))), shape=(out.shape[0], rows)
    )
    out += ind @ A
    return (np.zeros(1),)


def _class_totals_chunk(Xc, yc, sc, start, n_classes):
    """``(sum_i s_i [y_i = k])_k`` over the chunk."""
    return (np.bincount(yc, weights=sc, minlength=n_classes).astype(np.float64),)


def _weighted_sum_chunk(Xc, yc, sc, start):
    """``sum_i s_i x_i`` over the chunk."""
    if sp.issparse(Xc):
        return (np.asarray(Xc.T @ sc, dtype=np.float64).ravel(),)
    return (np.asarray(sc @ np.asarray(Xc, dtype=np.float64)),)


def margeff_chunk(Xc, yc, sc, start, beta, fit_intercept, method):
    """Weighted sums over the rows of the marginal effects and their Jacobian.

    With ``beta`` (K, d + 1) the coefficients in the objective's layout
    (``[W, b]``, the reference class's row zero), ``p`` the probabilities
    and ``E_ka = beta_ka - sum_l p_l beta_la`` (``d log p_k / d x_a``):

    - ``method="dydx"``: ``m_ja = p_j E_ja``, and ``dm_ja / dbeta_kb =
      x~_b (p_j E_ja (delta_jk - p_k) - p_j p_k E_ka) + [b = a] p_j
      (delta_jk - p_k)``;
    - ``method="eydx"``: ``m_ja = E_ja`` and ``dm_ja / dbeta_kb =
      -x~_b p_k E_ka + [b = a] (delta_jk - p_k)``.

    Returns
    -------
    m : ndarray of shape (K, d)
        ``sum_i s_i m_i``.
    J_x : ndarray of shape (K * d * K, d + 1)
        ``sum_i s_i T_i (x) x~_i`` (the ``x~_b`` part, ``(j, a, k)`` major).
    J_0 : ndarray of shape (K, K)
        ``sum_i s_i`` of the ``[b = a]`` part's ``(j, k)`` factor.
    """
    Xt = _design_chunk(Xc, fit_intercept)
    d = Xt.shape[1] - int(fit_intercept)
    K = beta.shape[0]
    P = _softmax_rows(Xt, beta)  # (rows, K)
    Bf = beta[:, :d]  # feature coefficients (K, d)
    E = Bf[None, :, :] - (P @ Bf)[:, None, :]  # (rows, K, d)
    eye = np.eye(K)
    pk_Eka = P[:, :, None] * E  # (rows, k, a): p_k E_ka
    if method == "dydx":
        m = pk_Eka
        # T[i, j, a, k] = p_j E_ja (delta_jk - p_k) - p_j p_k E_ka
        T = pk_Eka[:, :, :, None] * (eye[None, :, None, :] - P[:, None, None, :])
        T -= P[:, :, None, None] * pk_Eka.transpose(0, 2, 1)[:, None, :, :]
        T0 = P[:, :, None] * (eye[None] - P[:, None, :])  # p_j (delta_jk - p_k)
    else:
        m = E
        T = np.broadcast_to(
            -pk_Eka.transpose(0, 2, 1)[:, None, :, :], (P.shape[0], K, d, K)
        )
        T0 = eye[None] - P[:, None, :]
    rows = Xt.shape[0]
    Jx = (T.reshape(rows, -1) * sc[:, None]).T @ Xt
    return (
        np.einsum("i,ika->ka", sc, m),
        Jx,
        np.einsum("i,ijk->jk", sc, T0),
    )


def _sum_parts(parts):
    """Entry-wise float64 sums of a list of tuples of arrays (in place, in
    list order)."""
    total = [np.array(p, dtype=np.float64) for p in parts[0]]
    for part in parts[1:]:
        for t, p in zip(total, part, strict=True):
            t += p
    return tuple(total)


def _chunk_rows(numbers_per_row):
    return int(max(1, _CHUNK_BYTES // (8 * max(1, numbers_per_row))))


# ------------------------------------------------------------------- pieces
def _reference_index(classes, reference):
    if reference is None:
        return 0
    hits = np.flatnonzero(np.asarray(classes) == reference)
    if hits.size != 1:
        raise ValueError(
            f"reference={reference!r} is not one of the classes "
            f"{np.asarray(classes).tolist()!r}."
        )
    return int(hits[0])


def _group_codes(groups, n_samples):
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_samples:
        raise ValueError(
            "groups must be a 1d array with one label per sample: got shape "
            f"{groups.shape} for {n_samples} samples."
        )
    labels, codes = np.unique(groups, return_inverse=True)
    return codes.astype(np.intp), _check_n_groups(labels.shape[0])


def _check_n_groups(n_groups):
    if n_groups < 2:
        raise ValueError(f"cov_type='cluster' needs at least 2 groups; got {n_groups}.")
    return n_groups


def _singular_message(H, N, term_names, detail):
    """Names the likely cause of a singular Hessian: the terms along its
    near-null direction (outside the shift directions ``N``)."""
    P = H - N @ (N.T @ H) if N.shape[1] else H
    w, V = np.linalg.eigh((P + P.T) / 2 + (N @ N.T) * np.abs(H).max())
    v = np.abs(V[:, 0]).reshape(-1, len(term_names)).max(axis=0)
    involved = [term_names[j] for j in np.argsort(-v)[:5] if v[j] > 0.1]
    return (
        "The information matrix (Hessian of the log-likelihood) is singular "
        f"or nearly so ({detail}): standard errors are not defined. Likely "
        "causes: perfectly separated classes (some coefficients grow without "
        "bound; fitted probabilities of 0 or 1), or collinear or constant "
        "features (a feature constant in the data duplicates the intercept). "
        f"Terms involved: {involved}. Remove or combine those features, or "
        "use an L2 penalty (finite C): its covariance is then that of the "
        "penalised estimate."
    )


def _bread(H, N, term_names):
    """``(H + c N N^T)^{-1}``, or a ValueError naming the likely cause.

    The matrix is factored in its Jacobi-scaled form (unit diagonal), so
    that its condition, and the test for singularity, do not depend on the
    features' units.
    """
    scale = float(np.mean(np.diag(H))) or 1.0
    A = H + scale * (N @ N.T) if N.shape[1] else H.copy()
    if not np.all(np.isfinite(A)):
        raise ValueError(
            "The Hessian has non-finite entries: the fitted parameters or the "
            "data overflow (check the fit converged and the features' scale)."
        )
    diag = np.diag(A).copy()
    if np.any(diag <= 0):
        raise ValueError(_singular_message(H, N, term_names, "a zero diagonal"))
    s = 1.0 / np.sqrt(diag)
    A *= s[:, None]
    A *= s[None, :]
    try:
        c, low = scipy.linalg.cho_factor(A, lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            _singular_message(H, N, term_names, "not positive definite")
        ) from None
    rcond, info = lapack.dpocon(c, np.abs(A).sum(axis=0).max())
    detail = f"reciprocal condition {rcond:.1e} after scaling"
    if info != 0 or rcond < _RCOND_MIN:
        raise ValueError(_singular_message(H, N, term_names, detail))
    if rcond < _RCOND_WARN:
        warnings.warn(
            _singular_message(H, N, term_names, detail).replace(
                "standard errors are not defined", "standard errors are unreliable"
            ),
            IllConditionedWarning,
            stacklevel=4,
        )
    B = scipy.linalg.cho_solve((c, low), np.diag(s), check_finite=False)
    B *= s[:, None]
    return B


def _reduce(M, K, d1, ref, perm):
    """``D M D^T`` in the reported layout: (K-1) classes x terms, class-major,
    terms in ``perm`` order (intercept first)."""
    M4 = M.reshape(K, d1, K, d1)
    keep = [k for k in range(K) if k != ref]
    out = (
        M4[keep][:, :, keep]
        - M4[keep][:, :, [ref]]
        - M4[[ref]][:, :, keep]
        + M4[[ref]][:, :, [ref]]
    )
    out = out[:, perm][:, :, :, perm]
    p = (K - 1) * d1
    return out.reshape(p, p)


def _null_loglik(objective):
    """Log-likelihood of the intercept-only model, exactly: ``S sum_k f_k log f_k``
    with ``f_k`` the weighted class frequencies (its maximum-likelihood fit)."""
    parts = objective.map_rows(
        _class_totals_chunk, objective.n_classes, chunk_rows=_chunk_rows(1) * 8
    )
    f = _sum_parts(parts)[0]
    f = f / f.sum()
    nz = f > 0
    return float(objective.weight_sum * np.sum(f[nz] * np.log(f[nz])))


# --------------------------------------------------------------------- main
def check_inference_params(l1_ratio, label_smoothing):
    """Refuse the fits whose covariance these formulas do not give.

    Parameters
    ----------
    l1_ratio : float
        The fit's effective L1 share: an L1 part selects coefficients, and
        inference after selection is not valid this way.
    label_smoothing : float
        Smoothed targets are not a likelihood of the labels.
    """
    if l1_ratio > 0:
        raise ValueError(
            f"inference is not available for an L1 penalty (l1_ratio={l1_ratio:g}): "
            "the L1 part selects coefficients, and standard errors computed "
            "after selection are not valid. Fit with C=np.inf (maximum "
            "likelihood) or an L2 penalty."
        )
    if label_smoothing:
        raise ValueError(
            f"inference is not available with label_smoothing={label_smoothing:g}: "
            "the smoothed cross-entropy is not the likelihood of the labels."
        )


def softmax_inference(
    objective,
    w,
    *,
    classes,
    term_names,
    reference=None,
    cov_type="nonrobust",
    groups=None,
    C=np.inf,
    tol=None,
    dep_name="y",
):
    """Inference at the fitted parameters ``w`` of ``objective``.

    Parameters
    ----------
    objective : SoftmaxObjective
        The training objective (numpy, scipy.sparse or Dask backend), with
        the fit's L2 penalty and the frequency weights.
    w : ndarray of shape (n_params,)
        The fitted flat parameters (``[W, b]`` raveled).
    classes : ndarray of shape (n_classes,)
        The class labels.
    term_names : list of str
        Names of the features.
    reference : object or None, default=None
        The reference class; None means ``classes[0]``.
    cov_type : {"nonrobust", "HC0", "cluster"}, default="nonrobust"
        Covariance estimator (see :meth:`SoftmaxRegression.inference`).
    groups : array-like of shape (n_samples,) or None, default=None
        Cluster labels for ``cov_type="cluster"``. A Dask objective must
        have been built with them (its ``groups``, held by its blocks).
    C : float, default=np.inf
        The fit's effective ``C`` (``np.inf``: maximum likelihood).
    tol : float or None, default=None
        The fit's ``tol``: a larger ``max|gradient|`` at ``w`` warns.
    dep_name : str, default="y"
        Name of the dependent variable, for the summary.

    Returns
    -------
    results : InferenceResults
    """
    if cov_type not in _COV_TYPES:
        raise ValueError(f"cov_type must be one of {_COV_TYPES}; got {cov_type!r}.")
    if (cov_type == "cluster") != (groups is not None):
        raise ValueError(
            "groups are needed with cov_type='cluster', and only then; got "
            f"cov_type={cov_type!r} and groups "
            f"{'given' if groups is not None else 'None'}."
        )
    if not (objective.row_maps and objective.dense_hessian):
        raise TypeError(
            "inference takes numpy, scipy.sparse or Dask input; got "
            f"{type(objective).__name__}'s input (an Array API array?): pass "
            "X as a numpy array (the fitted model applies to it unchanged)."
        )
    if objective.soft:
        raise ValueError(
            "inference needs class labels; soft targets (class probabilities) "
            "have no multinomial likelihood of labels."
        )
    K, d, fi = objective.n_classes, objective.n_features, bool(objective.fit_intercept)
    d1 = d + fi
    if K * d1 > MAX_PARAMS:
        raise ValueError(
            f"inference needs the dense ({K * d1}, {K * d1}) Hessian (n_classes * "
            f"(n_features + fit_intercept) = {K * d1} parameters); the limit is "
            f"{MAX_PARAMS} (up to five float64 matrices of that size are held). "
            "Reduce the features, e.g. by selecting or aggregating them."
        )
    ref = _reference_index(classes, reference)
    on_dask = objective.distributed
    if cov_type == "cluster" and not on_dask:  # Dask: the blocks hold them
        codes, n_groups = _group_codes(groups, objective.n_samples)
    terms = (["const"] if fi else []) + [str(t) for t in term_names]
    perm = ([d] if fi else []) + list(range(d))  # reported order: intercept first
    w = np.ascontiguousarray(w, dtype=np.float64)
    Wb = w.reshape(K, d1)
    S = float(objective.weight_sum)

    loss, grad, H = objective.loss_gradient_hessian(w)
    grad_max = float(np.max(np.abs(grad))) if grad.size else 0.0
    if tol is not None and grad_max > tol:
        warnings.warn(
            f"The fit has not converged: max|gradient| = {grad_max:.2e} > tol = "
            f"{tol:g} at the fitted parameters. The standard errors assume a "
            "stationary point; refit with a larger max_iter (or a smaller tol).",
            ConvergenceWarning,
            stacklevel=3,
        )
    penalty = 0.0
    if np.isfinite(C):
        penalty = 0.5 * float(np.sum(Wb[:, :d] ** 2)) / (C * S)
    llf = -S * (loss - penalty)
    H *= S  # Hessian of the negative log-likelihood (+ ||W||^2 / (2 C))
    N = objective.invariant_directions()
    B = _bread(H, N, [terms[perm.index(j)] for j in range(d1)])
    del H  # (its memory, before the sandwich's)

    n_groups_used = None
    if cov_type == "nonrobust":
        cov_full = B
    else:
        if cov_type == "HC0":
            parts = objective.map_rows(
                _score_outer_chunk, Wb, fi, chunk_rows=_chunk_rows(K * d1)
            )
            M = S * _sum_parts(parts)[0]
        else:
            if on_dask:  # per block and label on the workers, merged by label
                labels, T = objective.map_row_groups(
                    _score_group_chunk, K * d1, Wb, fi, chunk_rows=_chunk_rows(K * d1)
                )
                n_groups = _check_n_groups(labels.shape[0])
            else:
                T = np.zeros((n_groups, K * d1))
                objective.map_rows(
                    _score_group_chunk, Wb, fi, codes, T, chunk_rows=_chunk_rows(K * d1)
                )
            T *= S
            M = T.T @ T
            n_groups_used = n_groups
        cov_full = B @ M @ B
    cov = _reduce(cov_full, K, d1, ref, perm)
    if n_groups_used is not None:
        k = (K - 1) * d1
        cov *= n_groups_used / (n_groups_used - 1.0) * (S - 1.0) / (S - k)
    keep = [k for k in range(K) if k != ref]
    params = (Wb[keep] - Wb[ref])[:, perm].T  # (n_terms, K - 1)
    return InferenceResults(
        params=params,
        cov=cov,
        term_names=terms,
        classes=np.asarray(classes),
        reference=ref,
        nobs=S,
        llf=float(llf),
        llnull=_null_loglik(objective),
        cov_type=cov_type,
        n_groups=n_groups_used,
        C=float(C),
        dep_name=dep_name,
        fit_intercept=fi,
        margeff_fn=lambda at, method: marginal_effects(
            objective, w, ref, perm, cov, classes, terms, at, method, dep_name
        ),
    )


def marginal_effects(
    objective, w, ref, perm, cov, classes, terms, at, method, dep_name="y"
):
    """Marginal effects of the features on the class probabilities, with
    delta-method standard errors (see :func:`margeff_chunk`).

    Returns
    -------
    margeff : MarginalEffects
    """
    if at not in ("overall", "mean"):
        raise ValueError(f"at must be 'overall' or 'mean'; got {at!r}.")
    if method not in ("dydx", "eydx"):
        raise ValueError(f"method must be 'dydx' or 'eydx'; got {method!r}.")
    K, d, fi = objective.n_classes, objective.n_features, bool(objective.fit_intercept)
    d1 = d + fi
    if d == 0:
        raise ValueError("marginal effects need at least one feature.")
    beta = w.reshape(K, d1) - w.reshape(K, d1)[ref]  # the reference row zero
    if at == "overall":
        parts = objective.map_rows(
            margeff_chunk, beta, fi, method, chunk_rows=_chunk_rows(2 * K * K * d + d1)
        )
        m, Jx, J0 = _sum_parts(parts)
    else:
        xbar = _sum_parts(
            objective.map_rows(_weighted_sum_chunk, chunk_rows=_chunk_rows(d))
        )[0]
        m, Jx, J0 = margeff_chunk(
            xbar[None, :], np.zeros(1, dtype=np.intp), np.ones(1), 0, beta, fi, method
        )
    J = Jx.reshape(K, d, K, d1)
    J[:, np.arange(d), :, np.arange(d)] += J0[None, :, :]  # the [b = a] part
    keep = [k for k in range(K) if k != ref]
    J = J[:, :, keep][:, :, :, perm]  # (j, a, k != ref, reported terms)
    J = J.transpose(1, 0, 2, 3).reshape(d * K, (K - 1) * d1)  # rows (a, j)
    margeff_cov = J @ cov @ J.T
    return MarginalEffects(
        margeff=m.T.copy(),
        margeff_cov=margeff_cov,
        feature_names=terms[int(fi) :],
        classes=np.asarray(classes),
        at=at,
        method=method,
        dep_name=dep_name,
    )
