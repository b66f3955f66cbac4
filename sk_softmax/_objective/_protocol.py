"""The one contract between the objective and its backends: :class:`DataTerm`.

The objective (:class:`~sk_softmax._objective._base.SoftmaxObjective`) is a
data term plus a penalty. The penalty, the parameter layout and the scaling
by the weight sum ``S`` are backend-neutral and live in ``_base.py``; the
data term is a backend's. A backend is a subclass of ``SoftmaxObjective``
that implements this protocol, and nothing else of a backend is used from
outside it: the solvers see only the penalized objective's methods, the
Dask backend runs the numpy backend's ``DataTerm`` on each row block, the
mini-batch view runs it on :meth:`DataTerm.rows`, the two-class Newton view
on :meth:`DataTerm.data_binary_loss_gradient_hessian`, inference on
:meth:`DataTerm.map_rows`. :func:`~sk_softmax._objective.make_objective` is
the one place where a backend is chosen.

Backends receive validated arrays (class codes or soft targets, the
class-weighted sample weights, the global weight sum of a Dask fit) and
import nothing of the validation (``_targets``, ``_dask_input``) nor of the
estimator, the fit layer or the solvers.

All parameter vectors here are the flat float64 layout of
:meth:`~sk_softmax._objective._base.SoftmaxObjective.unpack` (``[W, b]``
ravelled), unless a method says it works in the backend's own layout
(``feature_major``, see :meth:`DataTerm.solver_layout`). Every value is the
*data* term only, already divided by ``S``: the penalty is added by the
objective.
"""

from typing import Protocol, runtime_checkable

__all__ = ["DataTerm"]


@runtime_checkable
class DataTerm(Protocol):
    """What a backend computes: the mean-scaled softmax cross-entropy.

    Attributes
    ----------
    n_samples, n_features, n_classes : int
        The shape of the problem.
    fit_intercept : bool
        Whether the model has intercepts (the last column of ``[W, b]``).
    dtype : numpy.dtype
        The working precision of ``X`` (float32 or float64) on the host.
    soft : bool
        Whether the targets are class probabilities (else class codes).
    y : ndarray or None
        The targets on the host (None where they stay on Dask workers).
    sample_weight : ndarray
        The (class-weighted) sample weights ``s_i`` on the host (empty
        where they stay on Dask workers).
    weight_sum : float
        ``S``, the weight sum the data term is divided by.
    dense_hessian : bool
        Capability: :meth:`data_loss_gradient_hessian` is implemented
        (``solver="newton-cholesky"``, inference).
    binary_hessian : bool
        Capability: :meth:`data_binary_loss_gradient_hessian` is implemented
        (the two-class Newton view).
    sparse : bool
        Capability: ``X`` is a scipy.sparse matrix (``solver="auto"``).
    device : object
        Where ``X`` lives: ``"cpu"`` for numpy / scipy.sparse and Dask (the
        host and the workers), the array's device for the Array API backend.
    row_maps : bool
        Capability: :meth:`map_rows` is implemented (inference).
    distributed : bool
        Whether the rows live on Dask workers (:meth:`map_rows` then returns
        one part per worker, and ``map_row_groups`` sums by group there).
    """

    n_samples: int
    n_features: int
    n_classes: int
    fit_intercept: bool
    soft: bool
    weight_sum: float
    dense_hessian: bool
    binary_hessian: bool
    sparse: bool
    device: object
    row_maps: bool
    distributed: bool

    # ------------------------------------------------- loss-and-gradient part
    def data_loss_gradient(self, w64, need_gradient, feature_major=False):
        """Data term and its gradient at ``w64`` in one pass over the rows.

        Parameters
        ----------
        w64 : ndarray of shape (n_params,), float64, contiguous
            Parameters (in the backend's layout if ``feature_major``).
        need_gradient : bool
            If False, only the loss.
        feature_major : bool, default=False
            ``w64`` and the gradient in the backend's
            :meth:`solver_layout` (sparse kernels); only passed where that
            layout is not the flat one.

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params,), float64, or None
        """

    def solver_layout(self):
        """The layout of the parameters this backend's passes work in.

        Returns
        -------
        layout : FlatLayout
            ``FlatLayout`` or ``FeatureMajorLayout``.
        """

    def n_workers(self):
        """Threads an evaluation keeps busy now (1 unless the backend runs its own).

        Returns
        -------
        n_workers : int
        """

    # ---------------------------------------------------- Hessian-product part
    def data_hessian_product(self, w64):
        """``hessp(v64) -> H v``: the data term's Hessian at ``w64``, flat layout.

        Parameters
        ----------
        w64 : ndarray of shape (n_params,), float64
            The point (the backend may keep it).

        Returns
        -------
        hessp : callable
        """

    def data_newton_model(self, w64):
        """``(hessp, diagonal, layout)``: the data term's Hessian products in
        the backend's ``layout`` and their diagonal (or None).

        Parameters
        ----------
        w64 : ndarray of shape (n_params,), float64
            The point.

        Returns
        -------
        hessp : callable
        diagonal : ndarray of shape (n_params,) or None
        layout : FlatLayout
        """

    # ----------------------------------------------- dense Hessian / Gram part
    def data_loss_gradient_hessian(self, w64):
        """Data term, gradient and dense Hessian at ``w64`` (if ``dense_hessian``).

        Parameters
        ----------
        w64 : ndarray of shape (n_params,), float64
            The point.

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_params,), float64
        hess : ndarray of shape (n_params, n_params), float64
        """

    def data_binary_loss_gradient_hessian(self, v64):
        """Two classes: the data term of the rows' difference ``v64``, its
        gradient and Hessian (if ``binary_hessian``).

        Parameters
        ----------
        v64 : ndarray of shape (n_features + fit_intercept,), float64
            ``[w_1, b_1] - [w_0, b_0]``.

        Returns
        -------
        loss : float
        grad : ndarray, float64
        hess : ndarray, float64
        """

    def weighted_gram(self, scale):
        """``M^T M`` with ``M = diag(sqrt(s / S)) [X, 1] / scale`` (float64).

        Parameters
        ----------
        scale : float
            ``a >= 1``, so that features beyond ~1e154 do not overflow.

        Returns
        -------
        gram : ndarray of shape (n_features + fit_intercept,) * 2
        """

    def gram_bound(self, scale):
        """An upper bound of ``lambda_max`` of :meth:`weighted_gram`'s matrix
        without forming it: ``min(trace, ||M||_1 ||M||_inf)``.

        Parameters
        ----------
        scale : float
            As for :meth:`weighted_gram`.

        Returns
        -------
        bound : float
        """

    def max_abs_feature(self):
        """``max |X_ij|`` (0.0 for an empty ``X``).

        Returns
        -------
        max_abs : float
        """

    # ------------------------------------------------------- a subset of rows
    def rows(self, idx, sample_weight, weight_sum):
        """The data term of the rows ``idx`` alone (a new ``DataTerm``).

        Parameters
        ----------
        idx : ndarray of int
            Sorted row indices.
        sample_weight : ndarray of shape (len(idx),)
            Their weights.
        weight_sum : float
            The ``S`` the new data term divides by.

        Returns
        -------
        data_term : DataTerm
            Without a penalty (``C=inf``).
        """

    def accuracy(self, rows):
        """``score(w) -> float``: the accuracy of ``w`` on the rows ``rows``.

        Parameters
        ----------
        rows : ndarray of int
            Row indices.

        Returns
        -------
        score : callable
        """

    def map_rows(self, fn, *args, chunk_rows=None):
        """``fn(X_c, y_c, s_c, start, *args)`` summed over chunks of rows,
        where the rows are (if ``row_maps``).

        Parameters
        ----------
        fn : callable
            Returns a tuple of float64 arrays.
        *args
            Passed to ``fn``.
        chunk_rows : int or None, default=None
            Rows per chunk.

        Returns
        -------
        parts : list of tuple
        """
