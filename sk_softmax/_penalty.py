"""The penalty term of the objective, kept apart from the data term.

An objective (:mod:`sk_softmax._objective`) is a data term, computed by a
backend's kernel, plus a penalty on the weights ``W`` (never on the
intercepts), computed here from the parameters alone: the kernels never see
the penalty. This is skglm's datafit / penalty split. An L1 or elastic-net
part would be a second penalty class with the same methods for its smooth
part and a ``prox(W, step)`` for its non-smooth part, used by a proximal
solver; no kernel changes.
"""

import numpy as np

from ._vector import add_scaled

__all__ = ["L2Penalty"]


class L2Penalty:
    """``strength / 2 * ||W||_F^2``, the ridge penalty of ``LogisticRegression``.

    In the mean-scaled objective of :class:`~sk_softmax.SoftmaxRegression`
    (divided by the sum ``S`` of the sample weights) the strength is
    ``1 / (C S)``; see :meth:`from_C`.

    Parameters
    ----------
    strength : float
        ``mu >= 0``; 0 means no penalty.
    """

    def __init__(self, strength):
        self.strength = float(strength)

    @classmethod
    def from_C(cls, C, weight_sum):
        """The penalty ``||W||^2 / (2 C S)`` of ``C`` and ``S = weight_sum``.

        Parameters
        ----------
        C : float
            Inverse regularisation strength; ``np.inf`` means no penalty.
        weight_sum : float
            ``S``, the sum of the sample weights the objective divides by.

        Returns
        -------
        penalty : L2Penalty
        """
        C = float(C)
        return cls(0.0 if np.isinf(C) else 1.0 / (C * weight_sum))

    def value(self, w, intercept=None):
        """``strength / 2 * ||W||^2`` from the flat parameters.

        Computed as ``w . w - b . b`` on the contiguous flat vector (cheaper
        than a strided pass over the weight block). einsum, not np.dot: a
        threaded BLAS call here would leave numpy's OpenBLAS threads spinning
        against the next evaluation's worker threads.

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
        sq = float(np.einsum("i,i->", w, w))
        if intercept is not None:
            sq -= float(np.einsum("i,i->", intercept, intercept))
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
