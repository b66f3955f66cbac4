"""In-place vector operations that allocate no parameter-sized temporary.

With millions of parameters (sparse data, large ``d x K``) one more float64
copy of the parameter vector is tens of MB at the memory peak of a fit;
these helpers keep the objective's gradient assembly and the solvers'
tests free of such copies.
"""

import numpy as np

__all__ = ["max_abs", "add_scaled", "dot"]

# Block of ~1 MiB of float64 for blocked updates: small enough to be a
# negligible temporary, large enough for numpy's per-call overhead to vanish.
_BLOCK_ELEMENTS = 2**17


def max_abs(v):
    """``max |v_i|`` without the ``|v|`` temporary.

    Parameters
    ----------
    v : ndarray
        Any shape.

    Returns
    -------
    m : float
        NaN if any entry is NaN, 0.0 for an empty ``v``.
    """
    if v.size == 0:
        return 0.0
    return float(np.maximum(v.max(), -v.min()))


def add_scaled(out, a, x):
    """``out += a * x`` in blocks along the first axis, in place.

    Parameters
    ----------
    out : ndarray
        Updated in place; may be a non-contiguous view (e.g. the weight
        columns of a ``(K, d + 1)`` gradient).
    a : float
        Scale.
    x : ndarray
        Same shape as ``out``.

    Returns
    -------
    out : ndarray
    """
    row = max(1, out[:1].size)  # elements per index of the first axis
    step = max(1, _BLOCK_ELEMENTS // row)
    for start in range(0, out.shape[0], step):
        out[start : start + step] += a * x[start : start + step]
    return out


def dot(a, b):
    """``a . b`` of two vectors, with numpy's own loop instead of BLAS.

    A BLAS ``ddot`` of more than ~10^4 entries runs threaded in OpenBLAS,
    whose idle threads then spin on their cores for a while, against the
    kernel's worker threads; this never wakes a BLAS pool.

    Parameters
    ----------
    a, b : ndarray of shape (n,)
        Vectors.

    Returns
    -------
    value : float
    """
    return float(np.einsum("i,i->", a, b))
