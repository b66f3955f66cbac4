"""``sparsify()`` and ``densify()``: ``coef_`` as a scipy.sparse CSR matrix.

scikit-learn's ``SparseCoefMixin`` semantics (``LogisticRegression``,
``SGDClassifier``): :meth:`~SparseCoefMixin.sparsify` turns ``coef_`` into a
CSR matrix (``intercept_`` stays dense), :meth:`~SparseCoefMixin.densify`
turns it back. Predictions work with either form (see
:func:`sk_softmax._namespaces.scores`), and so does a later ``fit`` with
``warm_start`` or ``partial_fit``, which start from the dense values.

Unlike scikit-learn's mixin, a model fitted on Array API input (a torch or
CuPy array under ``array_api_dispatch``) is supported: the sparse ``coef_``
lives on the host (scipy.sparse has no device), predictions put its dense
``(n_classes, n_features)`` values on ``X``'s device for the product, and
``densify()`` puts ``coef_`` back on the device of ``intercept_``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from ._namespaces import to_host
from ._sklearn_compat import (
    align_sparse_interface,
    get_namespace_and_device,
    is_numpy_namespace,
    move_to,
)

__all__ = ["SparseCoefMixin"]


class SparseCoefMixin:
    """``sparsify()`` / ``densify()`` of ``coef_`` for a fitted linear model."""

    def densify(self):
        """Convert ``coef_`` back to a dense array (a no-op if it is dense).

        The dense array is in the namespace and on the device of
        ``intercept_`` (numpy, or the Array API namespace of the training
        data).

        Returns
        -------
        self : object
            Fitted estimator.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y).sparsify()
        >>> type(clf.densify().coef_).__name__
        'ndarray'
        """
        check_is_fitted(
            self, msg="Estimator, %(name)s, must be fitted before densifying."
        )
        if sp.issparse(self.coef_):
            coef = self.coef_.toarray()
            xp, _, device = get_namespace_and_device(self.intercept_)
            if not is_numpy_namespace(xp):
                coef = move_to(coef, xp=xp, device=device)
            self.coef_ = coef
        return self

    def sparsify(self):
        """Convert ``coef_`` to a scipy.sparse CSR matrix.

        For models with many zero coefficients (more than about half: an
        L1 penalty) the sparse form is smaller and its products faster;
        otherwise it can be larger. ``intercept_`` is not converted.
        Predictions, ``warm_start`` and ``partial_fit`` work with either
        form; a new fit stores a dense ``coef_`` again.

        Returns
        -------
        self : object
            Fitted estimator.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_softmax import SoftmaxRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = SoftmaxRegression().fit(X, y).sparsify()
        >>> clf.coef_.format, clf.coef_.shape
        ('csr', (3, 4))
        >>> bool((clf.predict(X) == clf.densify().predict(X)).all())
        True
        """
        check_is_fitted(
            self, msg="Estimator, %(name)s, must be fitted before sparsifying."
        )
        if not sp.issparse(self.coef_):
            coef = np.asarray(to_host(self.coef_))
            self.coef_ = align_sparse_interface(sp.csr_array(coef))
        return self
