"""The penalty term of the objective, kept apart from the data term.

An objective (:mod:`sk_softmax._objective`) is a data term, computed by a
backend's kernel, plus a penalty on the weights ``W`` (never on the
intercepts), computed here from the parameters alone: the kernels never see
the penalty. This is skglm's datafit / penalty split.

:class:`L2Penalty` is smooth. :class:`ElasticNetPenalty` (``l1_ratio > 0``)
adds a non-smooth L1 part: it has the same methods for its smooth (L2) part,
which :meth:`SoftmaxObjective.loss_gradient` adds, and for the L1 part its
value, its proximal operator ``prox(W, step)`` and the optimality measure
(the minimum-norm subgradient) used by the solvers of
:mod:`sk_softmax._prox_solvers`; no kernel changes.

:func:`check_weight_sum` lives here, below both its users: the validation of
the targets and class weights (:mod:`sk_softmax._targets`,
:mod:`sk_softmax._dask_input`) and the objective, which divide by the weight
sum ``S`` (the penalty's strength is ``1 / (C S)``).
"""

import numpy as np

from ._vector import add_scaled, dot

__all__ = ["ElasticNetPenalty", "L2Penalty", "check_weight_sum", "penalty_from_C"]


class L2Penalty:
    """``strength / 2 * ||W||_F^2``, the ridge penalty of ``LogisticRegression``.

    In the mean-scaled objective of :class:`~sk_softmax.SoftmaxRegression`
    (divided by the sum ``S`` of the sample weights) the strength is
    ``1 / (C S)``; see :func:`penalty_from_C`.

    Parameters
    ----------
    strength : float
        ``mu >= 0``; 0 means no penalty.
    """

    def __init__(self, strength):
        self.strength = float(strength)

    def value(self, w, intercept=None):
        """``strength / 2 * ||W||^2`` from the flat parameters.

        Computed as ``w . w - b . b`` on the contiguous flat vector (cheaper
        than a strided pass over the weight block), with
        :func:`~sk_softmax._vector.dot`: never a threaded BLAS call, which
        would leave numpy's OpenBLAS threads spinning against the next
        evaluation's worker threads.

        Parameters
        ----------
        w : ndarray of shape (n_params,), float64, contiguous
            Flat parameters ``[W, b]``.
        intercept : ndarray of shape (n_classes,) or None, default=None
            The unpenalised part of ``w`` (the intercepts); None if none.

        Returns
        -------
        value : float
        """
        if not self.strength:
            return 0.0
        sq = dot(w, w)
        if intercept is not None:
            sq -= dot(intercept, intercept)
        return 0.5 * self.strength * sq

    def add_gradient(self, grad_W, W):
        """``grad_W += strength * W``, in place, in blocks.

        Blocked: one ``(K, d)`` float64 temporary would be the largest
        allocation of a sparse evaluation.

        Parameters
        ----------
        grad_W : ndarray of shape (n_classes, n_features)
            Weight part of a gradient (a view into the flat gradient).
        W : ndarray of shape (n_classes, n_features)
            Weights.
        """
        if self.strength:
            add_scaled(grad_W, self.strength, W)

    def add_hessian_product(self, out_W, V_W):
        """``out_W += strength * V_W``: the penalty's Hessian is ``strength * I``.

        Parameters
        ----------
        out_W : ndarray of shape (n_classes, n_features)
            Weight part of a Hessian-vector product, updated in place.
        V_W : ndarray of shape (n_classes, n_features)
            Weight part of the direction.
        """
        self.add_gradient(out_W, V_W)

    def add_hessian(self, hess_W_diag):
        """``hess_W_diag += strength``: the penalty's Hessian is ``strength * I``.

        Only the diagonal entries of the weights' block of a dense Hessian
        change (the intercepts are not penalised).

        Parameters
        ----------
        hess_W_diag : ndarray of shape (n_classes, n_features)
            The diagonal entries of a dense Hessian at the weights ``W`` (a
            view into it), updated in place.
        """
        if self.strength:
            hess_W_diag += self.strength

    def lipschitz(self):
        """Lipschitz constant of the penalty's gradient.

        Returns
        -------
        L : float
            ``strength``.
        """
        return self.strength


def penalty_from_C(C, weight_sum, l1_ratio=0.0):
    """The penalty of ``LogisticRegression(C=C, l1_ratio=l1_ratio)``, mean-scaled.

    ``(l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||_F^2) / (C S)`` with
    ``S = weight_sum`` (the objective is divided by ``S``): an
    :class:`L2Penalty` for ``l1_ratio = 0`` or ``C = inf``, an
    :class:`ElasticNetPenalty` otherwise.

    Parameters
    ----------
    C : float
        Inverse regularisation strength; ``np.inf`` means no penalty.
    weight_sum : float
        ``S``, the sum of the sample weights the objective divides by.
    l1_ratio : float, default=0.0
        The share of the L1 part, in [0, 1].

    Returns
    -------
    penalty : L2Penalty or ElasticNetPenalty
    """
    C, l1_ratio = float(C), float(l1_ratio)
    if np.isinf(C):
        return L2Penalty(0.0)
    scale = 1.0 / (C * weight_sum)
    if l1_ratio == 0:
        return L2Penalty(scale)
    return ElasticNetPenalty(l1=l1_ratio * scale, l2=(1.0 - l1_ratio) * scale)


class ElasticNetPenalty(L2Penalty):
    """``l1 * ||W||_1 + l2 / 2 * ||W||_F^2``, the elastic-net penalty.

    The methods inherited from :class:`L2Penalty` (``value``,
    ``add_gradient``, ``add_hessian_product``, ``lipschitz``) are those of
    the smooth part ``l2 / 2 ||W||^2`` (``strength = l2``), which the
    objective adds to its data term; the L1 part has :meth:`l1_value`,
    :meth:`prox` and :meth:`min_norm_subgradient`, used by the proximal
    solvers. In :class:`~sk_softmax.SoftmaxRegression`'s mean-scaled
    objective ``l1 = l1_ratio / (C S)`` and ``l2 = (1 - l1_ratio) / (C S)``
    (see :func:`penalty_from_C`).

    Optimality (``F = f + l1 ||W||_1`` with ``f`` smooth, convex): ``W`` is a
    minimiser iff ``0`` is in the subdifferential, entry by entry::

        grad_j f + l1 * sign(W_j) = 0     where W_j != 0
        |grad_j f| <= l1                  where W_j == 0

    The minimum-norm subgradient (:meth:`min_norm_subgradient`) is the
    residual of these conditions; its largest absolute entry is the
    stopping criterion of the solvers, the analogue of ``max |grad|``.

    Parameters
    ----------
    l1 : float
        Strength of the L1 part, ``> 0``.
    l2 : float
        Strength of the L2 part, ``>= 0``.
    """

    def __init__(self, l1, l2):
        super().__init__(l2)
        self.l1 = float(l1)

    def l1_value(self, W):
        """``l1 * ||W||_1``, the non-smooth part of the penalty.

        Parameters
        ----------
        W : ndarray of shape (n_classes, n_features)
            Weights (not the intercepts).

        Returns
        -------
        value : float
        """
        return self.l1 * float(np.abs(W).sum())

    def prox(self, W, step):
        """``W <- prox_{step * l1 ||.||_1}(W)``, soft thresholding, in place.

        ``sign(W) * max(|W| - t, 0) = W - clip(W, -t, t)`` with
        ``t = step * l1``: entries with ``|W_j| <= t`` become exact zeros.

        Parameters
        ----------
        W : ndarray of shape (n_classes, n_features)
            Weights (a view into the flat parameters), updated in place.
        step : float
            Step ``t / l1`` of the proximal gradient method.

        Returns
        -------
        W : ndarray
        """
        t = step * self.l1
        W -= np.clip(W, -t, t)
        return W

    def min_norm_subgradient(self, grad_W, W, out=None):
        """The minimum-norm element of ``grad_W + l1 * d||W||_1``.

        ``grad_W + l1 * sign(W)`` where ``W != 0``, and
        ``grad_W - clip(grad_W, -l1, l1)`` (the soft-thresholded gradient)
        where ``W == 0``. It is zero exactly at a minimiser, and it is the
        pseudo-gradient of OWL-QN (Andrew & Gao, 2007).

        Parameters
        ----------
        grad_W : ndarray of shape (n_classes, n_features)
            Gradient of the smooth part at ``W``.
        W : ndarray of shape (n_classes, n_features)
            Weights.
        out : ndarray of shape (n_classes, n_features) or None, default=None
            Where to write the result (may be ``grad_W`` itself).

        Returns
        -------
        out : ndarray of shape (n_classes, n_features)
        """
        if out is None:
            out = np.array(grad_W, dtype=np.float64)
        elif out is not grad_W:
            out[...] = grad_W
        # three passes, two temporaries: shrunk, then sign(W) * l1 added
        shrunk = np.clip(out, -self.l1, self.l1)
        np.subtract(out, shrunk, out=shrunk)
        step = np.sign(W)
        step *= self.l1
        out += step
        np.equal(W, 0.0, out=step)  # reuse: 1.0 where W == 0
        np.copyto(out, shrunk, where=step.astype(bool))
        return out


def check_weight_sum(total):
    """Raise where the weights' sum ``S`` overflows float64.

    Finite weights can sum to infinity (150 weights of ``1.2e306``): the
    objective, normalised by ``S`` (``s_i / S`` and the penalty
    ``1 / (C S)``), was then 0 and every solver returned an all-zero model
    silently (issue 20). An error, not a rescaling: the objective depends
    only on ``s_i / S`` and ``C S``, so the weights divided by ``c`` with
    ``C`` multiplied by ``c`` give the same model, but a rescaling inside
    would have to carry ``c`` through every place that sets ``C`` (the CV
    grid, mini-batch views, each ``partial_fit`` batch); the message says
    how to do it.

    Parameters
    ----------
    total : float
        ``S``, the sum of the sample weights (times the class weights).
    """
    if not np.isfinite(total):
        raise ValueError(
            "The sample weights (times the class weights, if any) sum to more "
            f"than the largest float64 ({np.finfo(np.float64).max:.4g}): divide "
            "them by a constant c and multiply C by c, which gives the same "
            "model (the objective depends only on sample_weight / "
            "sum(sample_weight) and C * sum(sample_weight))."
        )
