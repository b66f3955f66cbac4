"""Two sparse products that accumulate into a dense block, in place.

The sparse kernel needs ``Y += A @ B`` for a CSC or CSR matrix ``A`` given by
its three arrays and dense ``B``, ``Y``, with no temporary of ``Y``'s size.
scipy's compiled ``csc_matvecs`` / ``csr_matvecs`` do exactly that, but live
in the private module ``scipy.sparse._sparsetools``. They are used when
present and agree with the fallback on public API (tested), which builds the
matrix around the same arrays (no copy) and adds its product (one temporary
of ``Y``'s size).
"""

import scipy.sparse as sp

try:  # private scipy API: present in every scipy release to date
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - depends on the installed scipy
    _sparsetools = None

__all__ = ["csc_matmat_add", "csr_matmat_add"]


def _has(name):
    return _sparsetools is not None and hasattr(_sparsetools, name)


def csc_matmat_add(n_row, n_col, indptr, indices, data, B, Y, *, private=None):
    """``Y += A @ B`` for the CSC matrix ``A`` of shape ``(n_row, n_col)``.

    Parameters
    ----------
    n_row, n_col : int
        Shape of ``A``.
    indptr, indices, data : ndarray
        CSC arrays of ``A`` (``indptr`` has ``n_col + 1`` entries).
    B : ndarray of shape (n_col, n_vecs)
        C-contiguous, ``data``'s dtype.
    Y : ndarray of shape (n_row, n_vecs)
        C-contiguous, ``data``'s dtype; updated in place.
    private : bool or None, default=None
        Use scipy's private ``csc_matvecs`` (True) or the public API (False);
        None: the private one when available.
    """
    if private is None:
        private = _has("csc_matvecs")
    if private:
        _sparsetools.csc_matvecs(
            n_row, n_col, B.shape[1], indptr, indices, data, B.ravel(), Y.ravel()
        )
    else:
        A = sp.csc_matrix((data, indices, indptr), shape=(n_row, n_col), copy=False)
        Y += A @ B


def csr_matmat_add(n_row, n_col, indptr, indices, data, B, Y, *, private=None):
    """``Y += A @ B`` for the CSR matrix ``A`` of shape ``(n_row, n_col)``.

    Parameters
    ----------
    n_row, n_col : int
        Shape of ``A``.
    indptr, indices, data : ndarray
        CSR arrays of ``A`` (``indptr`` has ``n_row + 1`` entries).
    B : ndarray of shape (n_col, n_vecs)
        C-contiguous, ``data``'s dtype.
    Y : ndarray of shape (n_row, n_vecs)
        C-contiguous, ``data``'s dtype; updated in place.
    private : bool or None, default=None
        Use scipy's private ``csr_matvecs`` (True) or the public API (False);
        None: the private one when available.
    """
    if private is None:
        private = _has("csr_matvecs")
    if private:
        _sparsetools.csr_matvecs(
            n_row, n_col, B.shape[1], indptr, indices, data, B.ravel(), Y.ravel()
        )
    else:
        A = sp.csr_matrix((data, indices, indptr), shape=(n_row, n_col), copy=False)
        Y += A @ B
