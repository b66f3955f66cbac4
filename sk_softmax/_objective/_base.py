"""The backend-neutral part of the objective: layout, scaling, penalty, contract.

The objective minimised by :class:`~sk_softmax.SoftmaxRegression` is, with
normalised sample weights ``s_i / S`` (``S = sum_i s_i``)::

    f(W, b) = sum_i (s_i / S) * CE(y_i, softmax(W x_i + b))
              + (l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||_F^2) / (C S)

which is ``1 / S`` times scikit-learn's ``LogisticRegression`` objective
``sum_i s_i CE_i + (l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||^2) / C``: same
minimiser, and a gradient whose scale does not depend on ``n_samples``, so that
``tol`` means the same in both. With ``l1_ratio > 0`` the L1 part is not
smooth: :meth:`SoftmaxObjective.loss_gradient` is then the smooth part (data
term and L2 part), and the L1 part has its own methods
(:meth:`~SoftmaxObjective.nonsmooth_value`, :meth:`~SoftmaxObjective.prox`,
:meth:`~SoftmaxObjective.min_norm_subgradient`) for the proximal solvers.

:class:`SoftmaxObjective` holds what does not depend on where the data live:
the parameter layout (one flat float64 vector, the ravel of ``[W, b]``), the
normalisation by the global weight sum ``S``, the penalty (an
:class:`~sk_softmax._penalty.L2Penalty` or
:class:`~sk_softmax._penalty.ElasticNetPenalty`, added here and never seen by
a kernel), and the contract the solvers rely on: :meth:`loss_gradient`,
:meth:`hessian_product`, the dense Hessian of small problems
(:meth:`loss_gradient_hessian`, :meth:`invariant_directions`),
:meth:`lipschitz_bound`, and :meth:`minibatch`, the unbiased mini-batch
estimate used by SGD. A backend subclasses it and computes the data term
only, through the public contract of
:class:`~sk_softmax._objective._protocol.DataTerm` (the ``data_*`` methods,
``rows``, the Gram part and the declared capabilities); nothing else of a
backend is used from outside it.
"""

import copy
from dataclasses import dataclass

import numpy as np

from .._penalty import L2Penalty, check_weight_sum, penalty_from_C

__all__ = [
    "BinaryObjective",
    "FlatLayout",
    "MiniBatchObjective",
    "KernelHessian",
    "SoftmaxObjective",
]


@dataclass
class KernelHessian:
    """The objective's Hessian at a point, as its backend's kernel computes it.

    Products and diagonal in the kernel's own ``layout`` of the parameters
    (what :meth:`SoftmaxObjective.newton_model` returns; the fit layer wraps
    it into the solvers' ``HessianOperator``).

    Attributes
    ----------
    hessp : callable
        ``hessp(v) -> H v``; ``v`` and the result in ``layout``.
    diagonal : ndarray of shape (n_params,) or None
        ``diag(H)`` in ``layout``; None where the backend has none.
    layout : FlatLayout
        The layout of the parameters the products work in.
    project : callable
        ``project(u)``: removes from ``u`` (in ``layout``, in place) its
        components along the directions the objective is constant on
        (:meth:`SoftmaxObjective.invariant_directions`; ``H`` is singular
        there). A preconditioned step has such components (the diagonal
        is not constant along them); removing them changes neither the
        model nor the step's effect, and keeps the iterate where L-BFGS's
        would be (the intercepts' sum unchanged).
    """

    hessp: object
    diagonal: object
    layout: object
    project: object


class FlatLayout:
    """The flat parameter layout: the ravel of ``[W, b]``.

    A layout maps flat vectors to its own (``to_model``), back
    (``to_flat``), and gives the view of the weight entries ``W`` (the
    penalised ones) of a vector in its layout (``weights``).
    """

    feature_major = False

    def __init__(self, objective):
        self._unpack = objective.unpack
        self._n_classes = objective.n_classes
        self._n_features = objective.n_features
        self._fit_intercept = objective.fit_intercept

    def to_model(self, v):
        """``v`` (flat layout) in this layout: itself."""
        return v

    def to_flat(self, u):
        """``u`` (this layout) in the flat layout: itself."""
        return u

    def weights(self, u):
        """View of the ``W`` entries of ``u``."""
        return self._unpack(u)[0]

    def intercepts(self, u):
        """View of the intercepts of ``u``; None without intercepts."""
        return self._unpack(u)[1] if self._fit_intercept else None

    def remove_shifts(self, u, intercepts, weights):
        """Subtract, in place, the mean over classes of the intercepts of
        ``u`` (``intercepts``) and of each column of its weights
        (``weights``): the projection off the invariant directions."""
        Wb = u.reshape(self._n_classes, -1)
        if intercepts:
            Wb[:, -1] -= Wb[:, -1].mean()
        if weights:
            W = Wb[:, : self._n_features]
            W -= W.mean(axis=0)
        return u


class SoftmaxObjective:
    """Softmax cross-entropy of a linear model plus a penalty, backend-neutral.

    Subclasses set ``n_samples``, ``n_features``, ``n_classes``,
    ``fit_intercept``, ``dtype``, ``y`` and ``soft`` and implement the data
    term: the :class:`~sk_softmax._objective._protocol.DataTerm` protocol.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights ``s_i``; None means all ones.
    C : float
        Inverse of the L2 regularisation strength, as in ``LogisticRegression``;
        ``np.inf`` means no penalty.
    weight_sum : float or None, default=None
        ``S``, the sum the data term is divided by; None means
        ``sum(sample_weight)``. Mini-batch views pass the scale of the whole
        data set here.
    l1_ratio : float, default=0.0
        The elastic-net mixing parameter of ``LogisticRegression``: the share
        of ``1 / C`` that goes to the L1 part.
    """

    #: Whether the backend computes the dense Hessian
    #: (:meth:`loss_gradient_hessian`, for ``solver="newton-cholesky"``).
    dense_hessian = False
    #: Whether the backend computes the two-class objective on the rows'
    #: difference (``data_binary_loss_gradient_hessian``, see :meth:`binary`).
    binary_hessian = False
    #: Whether ``X`` is a scipy.sparse matrix (for ``solver="auto"``).
    sparse = False
    #: Where ``X`` lives (the array's device for the Array API backend).
    device = "cpu"
    #: Whether the backend runs :meth:`map_rows` (inference).
    row_maps = False
    #: Whether the rows live on Dask workers.
    distributed = False

    def __init__(self, sample_weight, C, weight_sum=None, l1_ratio=0.0):
        if sample_weight is None:
            sample_weight = np.ones(self.n_samples, dtype=np.float64)
        self.sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if weight_sum is None:
            with np.errstate(over="ignore"):  # an overflow raises just below
                weight_sum = float(self.sample_weight.sum())
        self.weight_sum = weight_sum
        check_weight_sum(self.weight_sum)  # an overflowed S: an all-zero objective
        self.C = float(C)
        self.l1_ratio = float(l1_ratio)
        self.penalty = penalty_from_C(self.C, self.weight_sum, self.l1_ratio)

    def with_penalty(self, C, l1_ratio=None):
        """This objective with the penalty of ``C`` (and ``l1_ratio``) instead.

        The data term is shared (no copy of the data, the backend's buffers
        and kept blocks included); only the penalty differs. The regularisation
        paths of the CV estimator move along their ``Cs`` with it.

        Parameters
        ----------
        C : float
            Inverse of the regularisation strength.
        l1_ratio : float or None, default=None
            The elastic-net mixing; None keeps this objective's.

        Returns
        -------
        objective : SoftmaxObjective
            A new objective of the same backend.
        """
        other = copy.copy(self)
        other.C = float(C)
        if l1_ratio is not None:
            other.l1_ratio = float(l1_ratio)
        other.penalty = penalty_from_C(other.C, other.weight_sum, other.l1_ratio)
        return other

    @property
    def l2_reg_strength(self):
        """float: ``1 / (C S)``, the penalty's strength (0 for ``C = inf``)."""
        return self.penalty.strength

    def n_workers(self):
        """Threads an evaluation runs now; 1 unless a backend runs its own.

        More than one means that the evaluations keep all allowed cores
        busy: a caller should then avoid threaded BLAS calls between them
        (see ``use_blas`` of :func:`~sk_softmax._solvers.lbfgs`).

        Returns
        -------
        n_workers : int
        """
        return 1

    # ------------------------------------------------------------------ layout
    @property
    def n_params(self):
        """int: Length of the flat parameter vector."""
        return self.n_classes * (self.n_features + int(self.fit_intercept))

    def unpack(self, w):
        """Split a flat parameter vector into ``(W, b)``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        coef : ndarray of shape (n_classes, n_features)
            View of the weight rows.
        intercept : ndarray of shape (n_classes,)
            View of the intercepts (zeros without intercept).
        """
        Wb = w.reshape(self.n_classes, -1)
        if self.fit_intercept:
            return Wb[:, :-1], Wb[:, -1]
        return Wb, np.zeros(self.n_classes, dtype=w.dtype)

    def add_penalty(self, penalty, w64, loss, grad):
        """``loss + penalty(w)`` and ``grad += penalty'(w)`` (in place).

        Parameters
        ----------
        penalty : L2Penalty or ElasticNetPenalty
            The penalty (this objective's, or a mini-batch view's).
        w64 : ndarray of shape (n_params,), float64
            Flat parameters.
        loss : float
            The data term.
        grad : ndarray of shape (n_params,) or None
            The data term's gradient; updated in place.

        Returns
        -------
        loss : float
        grad : ndarray or None
        """
        W64, b64 = self.unpack(w64)
        loss += penalty.value(w64, b64 if self.fit_intercept else None)
        if grad is not None:
            penalty.add_gradient(self.unpack(grad)[0], W64)
        return loss, grad

    # ------------------------------------------------- non-smooth (L1) part
    @property
    def nonsmooth(self):
        """bool: Whether the penalty has an L1 part (``l1_ratio > 0``, finite ``C``)."""
        return getattr(self.penalty, "l1", 0.0) > 0

    def nonsmooth_value(self, w):
        """The L1 part of the penalty, ``l1_ratio ||W||_1 / (C S)`` (0 if none).

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        value : float
        """
        if not self.nonsmooth:
            return 0.0
        return self.penalty.l1_value(self.unpack(np.asarray(w))[0])

    def prox(self, w, step):
        """The proximal step of the L1 part on the weights, in place.

        Soft thresholding of ``W`` by ``step * l1_ratio / (C S)``; the
        intercepts are not penalised and stay as they are.

        Parameters
        ----------
        w : ndarray of shape (n_params,), float64, contiguous
            Flat parameters, updated in place.
        step : float
            Step of the gradient step that preceded it.

        Returns
        -------
        w : ndarray
        """
        if self.nonsmooth:
            self.penalty.prox(self.unpack(w)[0], step)
        return w

    def penalized_mask(self):
        """Which entries of the flat parameters the L1 part acts on.

        Returns
        -------
        mask : ndarray of bool, shape (n_params,)
            True for the weights ``W`` when the penalty has an L1 part,
            False for the intercepts (and everywhere without an L1 part).
        """
        mask = np.zeros(self.n_params, dtype=bool)
        if self.nonsmooth:
            self.unpack(mask)[0][...] = True
        return mask

    def min_norm_subgradient(self, w, grad):
        """The minimum-norm subgradient of the whole objective at ``w``.

        ``grad`` (the gradient of the smooth part, :meth:`loss_gradient`)
        with its weight part replaced by
        :meth:`~sk_softmax._penalty.ElasticNetPenalty.min_norm_subgradient`;
        the intercepts' entries are their gradient. Without an L1 part it is
        ``grad``. Its largest absolute entry is the optimality measure the
        solvers stop on (``<= tol``).

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.
        grad : ndarray of shape (n_params,)
            Gradient of the smooth part at ``w``.

        Returns
        -------
        subgrad : ndarray of shape (n_params,), float64
            A new array.
        """
        out = np.array(grad, dtype=np.float64)
        if self.nonsmooth:
            out_W = self.unpack(out)[0]
            self.penalty.min_norm_subgradient(out_W, self.unpack(w)[0], out=out_W)
        return out

    # ---------------------------------------------------------------- contract
    def loss(self, w):
        """Objective value at ``w``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        loss : float
            Mean-scaled cross-entropy plus the whole penalty (its L1 part
            included).
        """
        return self.loss_gradient(w, need_gradient=False)[0] + self.nonsmooth_value(w)

    def loss_gradient(self, w, need_gradient=True):
        """Objective value and gradient at ``w``, in one pass over the data.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters (any float dtype; computations run in ``dtype``).
        need_gradient : bool, default=True
            If False, skip the gradient products.

        Returns
        -------
        loss : float
            Objective value (accumulated in float64); with an L1 part
            (``l1_ratio > 0``), the smooth part only (see
            :meth:`nonsmooth_value`).
        grad : ndarray of shape (n_params,), float64, or None
            Gradient ``dL/dW = (P - Y)^T diag(s/S) X + (1 - l1_ratio) W / (C S)``,
            ``dL/db = sum_i (s_i/S) (p_i - y_i)``, of the smooth part.
        """
        w64 = np.ascontiguousarray(w, dtype=np.float64)
        loss, grad = self.data_loss_gradient(w64, need_gradient)
        return self.add_penalty(self.penalty, w64, loss, grad)

    def solver_layout(self):
        """The layout of the parameters this backend's passes work in.

        :class:`FlatLayout` here; a backend whose kernel keeps its parameters
        in another layout (the sparse kernel's ``(d, K)`` weights) returns
        that layout, so that a solver running in it (see
        :meth:`layout_loss_gradient`) makes the backend transpose nothing.

        Returns
        -------
        layout : FlatLayout
        """
        return FlatLayout(self)

    def layout_loss_gradient(self, layout):
        """``fun(u) -> (loss, grad)``: :meth:`loss_gradient` in ``layout``.

        ``u`` and the gradient are in ``layout`` (:meth:`solver_layout`'s);
        the values are those of :meth:`loss_gradient` at
        ``layout.to_flat(u)``, permuted. The L2 penalty does not depend on
        the order of the entries (its value is ``w . w - b . b``).

        Parameters
        ----------
        layout : FlatLayout
            A layout of :meth:`solver_layout`.

        Returns
        -------
        fun : callable
        """
        if not layout.feature_major:
            return self.loss_gradient
        penalty = self.penalty

        def fun(u):
            u64 = np.ascontiguousarray(u, dtype=np.float64)
            loss, grad = self.data_loss_gradient(u64, True, feature_major=True)
            loss += penalty.value(u64, layout.intercepts(u64))
            penalty.add_gradient(layout.weights(grad), layout.weights(u64))
            return loss, grad

        return fun

    def gradient_hessian_product(self, w):
        """Gradient at ``w`` and a function computing Hessian-vector products.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        grad : ndarray of shape (n_params,)
            Gradient at ``w``.
        hessp : callable
            ``hessp(v) -> ndarray of shape (n_params,)``, see
            :meth:`hessian_product`.
        """
        w = np.array(w, dtype=np.float64)
        _, grad = self.loss_gradient(w)
        return grad, self.hessian_product(w)

    def hessian_product(self, w):
        """A function computing Hessian-vector products at ``w``.

        The Hessian of the cross-entropy of one sample is
        ``(diag(p) - p p^T) (x) x x^T``, so for a direction ``V = [V_W, v_b]``::

            Zv = X V_W^T + v_b
            R  = s * P * (Zv - sum_k P_k Zv_k)
            H V = [R^T X + V_W / (C S),  sum_i R_i]

        The backend computes the data part; the penalty adds its own term.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters (copied).

        Returns
        -------
        hessp : callable
            ``hessp(v) -> ndarray of shape (n_params,)``, float64.
        """
        data_hessp = self.data_hessian_product(np.array(w, dtype=np.float64))

        def hessp(v):
            v64 = np.ascontiguousarray(v, dtype=np.float64)
            out = data_hessp(v64)
            self.penalty.add_hessian_product(self.unpack(out)[0], self.unpack(v64)[0])
            return out

        return hessp

    def newton_model(self, w):
        """Hessian-vector products and diagonal at ``w``, in the backend's layout.

        For the preconditioned Newton-CG (:mod:`sk_softmax._newton_pcg`),
        whose Jacobi preconditioner is the diagonal. With ``x~ = [x, 1]``
        the diagonal entry of class ``k`` and column ``j`` is::

            H_(kj),(kj) = sum_i (s_i / S) p_ik (1 - p_ik) x~_ij^2  (+ 1 / (C S) for W)

        The products take and return vectors in the model's ``layout`` of
        the parameters (a permutation of the flat layout, see
        :class:`FlatLayout`), which the backend chooses so that the products
        need no transposition; conjugate gradients do not depend on the
        order of the coordinates. A backend may compute the diagonal with
        what the products share (see ``data_newton_model``); without one,
        the diagonal is None (no preconditioner).

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters (copied).

        Returns
        -------
        model : KernelHessian
        """
        data_hessp, diag, layout = self.data_newton_model(np.array(w, dtype=np.float64))
        if diag is not None:
            self.penalty.add_hessian(layout.weights(diag))

        def hessp(v):
            out = data_hessp(v)
            self.penalty.add_hessian_product(layout.weights(out), layout.weights(v))
            return out

        def project(u):
            return layout.remove_shifts(
                u, self.fit_intercept, self.penalty.strength == 0
            )

        return KernelHessian(hessp=hessp, diagonal=diag, layout=layout, project=project)

    def data_newton_model(self, w):
        """Default: the data term's Hessian product, no diagonal, flat order."""
        data_hessp = self.data_hessian_product(w)
        return (
            lambda v: data_hessp(np.ascontiguousarray(v, dtype=np.float64)),
            None,
            FlatLayout(self),
        )

    def loss_gradient_hessian(self, w):
        """Objective, gradient and the dense Hessian at ``w``, in one pass.

        For the small problems of ``solver="newton-cholesky"``: the Hessian
        has ``n_params ** 2`` entries. The backend computes the data term's
        three (see its ``data_loss_gradient_hessian``; the Hessian of the
        cross-entropy is ``sum_i (s_i/S) (diag(p_i) - p_i p_i^T) (x) x~_i
        x~_i^T`` with ``x~ = [x, 1]``); the penalty adds its value, its
        gradient and ``1 / (C S)`` on the diagonal entries of ``W``.

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.

        Returns
        -------
        loss : float
            Objective value.
        grad : ndarray of shape (n_params,)
            Gradient, float64.
        hess : ndarray of shape (n_params, n_params)
            Hessian, float64, symmetric.
        """
        w64 = np.ascontiguousarray(w, dtype=np.float64)
        loss, grad, H = self.data_loss_gradient_hessian(w64)
        loss, grad = self.add_penalty(self.penalty, w64, loss, grad)
        p = self.n_params
        diag = H.reshape(-1)[:: p + 1]  # a view of diag(H) ...
        self.penalty.add_hessian(self.unpack(diag)[0])  # ... and of its W part
        return loss, grad, H

    def binary(self):
        """The two-class objective as a function of the rows' difference.

        Returns
        -------
        binary : BinaryObjective or None
            For two classes with a backend that computes the two-class
            dense Hessian; None otherwise.
        """
        if self.n_classes != 2 or not self.binary_hessian or self.nonsmooth:
            return None
        return BinaryObjective(self)

    def invariant_directions(self):
        """Orthonormal directions along which the objective is constant.

        Softmax probabilities do not change when the same number is added to
        every class's score: the intercepts can shift together (with
        ``fit_intercept``), and without a penalty (``C=np.inf``) so can every
        column of ``W``. The Hessian is singular along these directions,
        and the gradient is orthogonal to them.

        Returns
        -------
        directions : ndarray of shape (n_params, m)
            ``m = 1`` (intercepts), ``d`` or ``d + 1`` (``C=np.inf``) or 0.
        """
        K, d = self.n_classes, self.n_features
        d1 = d + int(self.fit_intercept)
        cols = list(range(d)) if self.penalty.strength == 0 else []
        if self.fit_intercept:
            cols.append(d)
        N = np.zeros((K, d1, len(cols)), dtype=np.float64)
        N[:, cols, np.arange(len(cols))] = 1.0 / np.sqrt(K)
        return N.reshape(K * d1, len(cols))

    def map_rows(self, fn, *args, chunk_rows=None):
        """Run ``fn`` on the training rows, chunk by chunk, where they are.

        For computations other than the objective's own (the scores and
        marginal effects of :mod:`sk_softmax._inference`): ``fn(X_c, y_c,
        s_c, start, *args)`` with ``X_c`` a chunk of rows (ndarray or CSR,
        in ``X``'s dtype), ``y_c`` their class codes (or soft targets),
        ``s_c`` their normalised weights ``s_i / S`` (float64) and ``start``
        the index of the chunk's first row (in its Dask block, for Dask).

        Parameters
        ----------
        fn : callable
            Returns a tuple of float64 arrays (a module-level function, for
            Dask clusters).
        *args
            Passed to ``fn`` after ``start``.
        chunk_rows : int or None, default=None
            Rows per chunk; None means the backend's choice.

        Returns
        -------
        parts : list of tuple
            The sums of ``fn``'s results, entry by entry: one (all rows) in
            memory, one per worker for Dask (in block order). The sums are
            kept as the chunks go: the memory is that of one result (plus
            ``fn``'s own), whatever the number of chunks.
        """
        raise TypeError(f"{type(self).__name__} does not run row maps.")

    def lipschitz_bound(self):
        """An upper bound ``L`` of the gradient's Lipschitz constant.

        The data term's bound (from the backend, see its
        ``data_lipschitz_bound``) plus the penalty's ``1 / (C S)``. A step
        of ``1 / L`` never diverges.

        Returns
        -------
        L : float
            Upper bound of the Lipschitz constant of :meth:`loss_gradient`;
            ``inf`` when it exceeds the float64 range (features of order
            1e154 and beyond).
        """
        return self.data_lipschitz_bound() + self.penalty.lipschitz()

    def data_lipschitz_bound(self):
        """An upper bound of the data term's gradient Lipschitz constant.

        The Hessian is ``sum_i (s_i/S) (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T``
        with ``x~ = [x, 1]``; since ``||diag(p) - p p^T||_2 <= 1/2``,
        ``L <= lambda_max(X~^T diag(s/S) X~) / 2``.

        ``lambda_max`` is computed exactly from the (d+1, d+1) weighted Gram
        matrix (the backend's ``weighted_gram``) when :func:`gram_fits`;
        otherwise it is bounded by the backend's ``gram_bound``,
        ``min(trace, ||M||_1 ||M||_inf)`` with ``M = diag(sqrt(s/S)) X~``
        (both are guaranteed upper bounds).

        Both are computed on ``M / a`` with ``a = max(1, max |X_ij|)``, and
        ``lambda_max(M^T M) = a^2 lambda_max((M / a)^T (M / a))``: features
        beyond ~1e154 would otherwise overflow the Gram matrix to inf (and
        its eigenvalue solver fail) even where ``L`` itself is finite.

        Returns
        -------
        L : float
        """
        a = max(1.0, self.max_abs_feature())
        if gram_fits(self.n_samples, self.n_features + int(self.fit_intercept)):
            gram = self.weighted_gram(a)
            lam = float(np.linalg.eigvalsh(gram)[-1]) * (1 + 1e-8)
        else:
            lam = float(self.gram_bound(a))
        # Python floats: a product beyond the float64 range is inf, silently.
        return 0.5 * lam * a * a

    def minibatch(self, train=None):
        """The mini-batch estimate of this objective that SGD follows.

        Parameters
        ----------
        train : ndarray of int or None, default=None
            Sorted row indices to train on (e.g. all but early stopping's
            validation rows); None means all rows.

        Returns
        -------
        batch_fun : MiniBatchObjective
            ``batch_fun(w, rows) -> (loss, grad)``.
        """
        return MiniBatchObjective(self, train)


def gram_fits(n_samples, n_columns):
    """Whether the Lipschitz bound uses the exact ``(d+1, d+1)`` Gram matrix.

    Moderate ``d``: at most 2048 columns and ``n * (d + 1) ** 2 <= 2e10``
    multiply-adds; beyond, the cheaper trace / norm bounds are used.

    Parameters
    ----------
    n_samples : int
        Rows.
    n_columns : int
        Columns of ``X~`` (``d + fit_intercept``).

    Returns
    -------
    fits : bool
    """
    return n_columns <= 2048 and n_samples * n_columns**2 <= 2e10


class MiniBatchObjective:
    """``f_B(w, rows)``: an unbiased estimate of an objective from a mini-batch.

    With ``S`` the total weight of the training rows, ``n`` their number and
    ``B`` a batch::

        f_B = n / (|B| S) * sum_{i in B} s_i CE_i + ||W||^2 / (2 C S)

    has ``E[f_B] = f`` over uniformly drawn batches: the data term is the
    backend's, on the batch's rows with weights ``s_i n / (|B| S)``, and the
    penalty keeps its full-data scale (computed once, here), so that SGD and
    the full-batch solvers share one optimum.

    ``train`` restricts the objective to those rows without copying them
    out of ``X``: ``rows`` then index ``train``, and only each batch's own
    rows are gathered (row-sized ``(n,)`` copies of the weights only).

    Parameters
    ----------
    objective : SoftmaxObjective
        The full objective.
    train : ndarray of int or None
        Sorted row indices to train on; None means all rows.

    Attributes
    ----------
    n_samples : int
        Number of training rows ``n``.
    penalty : L2Penalty or ElasticNetPenalty
        The objective's penalty with ``S`` the training rows' weight sum;
        its L2 strength is the modulus of the ``"optimal"`` schedule.
    """

    def __init__(self, objective, train=None):
        self.objective = objective
        self.train = train
        sw = objective.sample_weight
        self.sample_weight = sw if train is None else sw[train]
        self.n_samples = self.sample_weight.shape[0]
        self.weight_sum = float(self.sample_weight.sum())
        self.penalty = penalty_from_C(objective.C, self.weight_sum, objective.l1_ratio)

    def __call__(self, w, rows):
        """Loss and gradient of the batch ``rows`` (indices of the training rows).

        Parameters
        ----------
        w : ndarray of shape (n_params,)
            Flat parameters.
        rows : ndarray of int
            Sorted indices into the training rows.

        Returns
        -------
        loss : float
            The whole objective's estimate (L1 part included).
        grad : ndarray of shape (n_params,), float64
            Gradient of the smooth part (the L1 part is :meth:`prox`'s).
        """
        obj = self.objective
        idx = rows if self.train is None else self.train[rows]
        # weight_sum |B| S / n: the batch's weights become s_i n / (|B| S).
        scale = len(rows) * self.weight_sum
        if not np.isfinite(scale):  # S near the float64 limit (|B| S overflows)
            scale = self.weight_sum * (len(rows) / self.n_samples)
        else:
            scale /= self.n_samples
        batch = obj.rows(idx, self.sample_weight[rows], scale)
        w64 = np.ascontiguousarray(w, dtype=np.float64)
        loss, grad = batch.data_loss_gradient(w64, True)
        loss, grad = obj.add_penalty(self.penalty, w64, loss, grad)
        if self.nonsmooth:
            loss += self.penalty.l1_value(obj.unpack(w64)[0])
        return loss, grad

    @property
    def nonsmooth(self):
        """bool: Whether the penalty has an L1 part."""
        return getattr(self.penalty, "l1", 0.0) > 0

    def prox(self, w, step):
        """Soft thresholding of the weights of ``w`` (in place), as
        :meth:`SoftmaxObjective.prox` with this view's penalty.

        Parameters
        ----------
        w : ndarray of shape (n_params,), float64, contiguous
            Flat parameters, updated in place.
        step : float
            Step of the preceding gradient step.

        Returns
        -------
        w : ndarray
        """
        if self.nonsmooth:
            self.penalty.prox(self.objective.unpack(w)[0], step)
        return w


class BinaryObjective:
    """Two classes: the objective of the difference ``v`` of the two rows.

    With two classes the data term depends on ``v = [w_1, b_1] - [w_0, b_0]``
    only (``p_1 = sigmoid(v . x~)``, the binary logistic model of
    ``LogisticRegression``). Writing the rows as ``u -+ v / 2``, the
    penalty is ``strength * ||u_W||^2 + strength / 4 * ||v_W||^2``: at
    ``u_W = 0`` the objective is

        f_r(v) = data(v) + strength / 4 * ||v_W||^2,

    its gradient is the gradient of class 1's row (class 0's is its
    negative: the same ``max |grad|``), and Newton's method, which is
    invariant under linear changes of variables, makes the same iterates on
    ``f_r`` as on the full objective from a start with ``u_W = 0`` (the full
    Newton step keeps ``u_W`` at 0, the intercepts' common shift ``u_b`` at
    its start). ``solver="newton-cholesky"`` runs on it: a ``(d + 1)``
    Hessian instead of ``2 (d + 1)`` (a quarter of the entries, an eighth
    of the Cholesky), and a pass on ``(n,)`` scores instead of ``(2, n)``
    blocks (breast_cancer: 59 instead of 93 us per evaluation, 10 instead
    of 22 us per direction).

    Parameters
    ----------
    objective : SoftmaxObjective
        A two-class objective whose backend implements
        ``data_binary_loss_gradient_hessian``.
    """

    def __init__(self, objective):
        self.objective = objective
        self.penalty = L2Penalty(objective.penalty.strength / 2)

    def from_full(self, w):
        """``v`` of full parameters ``w`` with ``u_W = 0``, else None.

        Parameters
        ----------
        w : ndarray of shape (2 * n_params_binary,)
            Full parameters.

        Returns
        -------
        v : ndarray of shape (n_params_binary,) or None
        """
        W, _ = self.objective.unpack(np.asarray(w, dtype=np.float64))
        if not np.array_equal(W[0], -W[1]):
            return None
        Wb = np.asarray(w, dtype=np.float64).reshape(2, -1)
        return Wb[1] - Wb[0]

    def to_full(self, v, w0):
        """Full parameters ``[u - v / 2, u + v / 2]``: ``u_W = 0``, ``u_b`` of
        ``w0`` (the intercepts' common shift, which nothing changes).

        Parameters
        ----------
        v : ndarray of shape (n_params_binary,)
            Difference of the rows.
        w0 : ndarray of shape (2 * n_params_binary,)
            The start, for ``u_b``.

        Returns
        -------
        w : ndarray of shape (2 * n_params_binary,)
        """
        half = 0.5 * np.asarray(v, dtype=np.float64)
        Wb = np.stack([-half, half])
        if self.objective.fit_intercept:
            Wb[:, -1] += 0.5 * (w0[len(half) - 1] + w0[-1])
        return Wb.ravel()

    def loss_gradient_hessian(self, v):
        """``f_r``, its gradient and its dense Hessian at ``v``.

        Parameters
        ----------
        v : ndarray of shape (n_params_binary,)
            Difference of the rows.

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params_binary,), float64
        hess : ndarray of shape (n_params_binary, n_params_binary), float64
        """
        obj = self.objective
        v64 = np.ascontiguousarray(v, dtype=np.float64)
        loss, grad, H = obj.data_binary_loss_gradient_hessian(v64)
        d = obj.n_features
        if self.penalty.strength:
            loss += self.penalty.value(v64, v64[d:] if obj.fit_intercept else None)
            self.penalty.add_gradient(grad[:d], v64[:d])
            self.penalty.add_hessian(H.reshape(-1)[: d * (len(v64) + 1) : len(v64) + 1])
        return loss, grad, H
