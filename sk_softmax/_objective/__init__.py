"""The objective: softmax cross-entropy plus a penalty, by compute backend.

- ``_protocol.py``: :class:`DataTerm`, the one contract between the
  objective and its backends (loss and gradient, Hessian products, the
  dense Hessian and Gram part, a view on a subset of rows, the declared
  capabilities).
- ``_backend_choice.py``: :func:`make_objective`, the one place where a
  backend is chosen.
- ``_base.py``: what does not depend on where the data live: the parameter
  layout, the normalisation by the weight sum, the penalty term
  (:mod:`sk_softmax._penalty`, replaced with
  :meth:`SoftmaxObjective.with_penalty`), the contract the solvers use
  (``loss_gradient``, ``hessian_product``, ``lipschitz_bound``) and the
  mini-batch and two-class views.
- ``_softmax_rows.py``: the per-row softmax / cross-entropy math, shared by
  the backends.
- ``_numpy.py``: the numpy / scipy.sparse backend, a chunked data term with
  its worker threads and private BLAS, on the chunk kernels of
  ``_dense.py`` (dense ``X``) and ``_csr.py`` (CSR ``X``) and the
  small-dense kernel of ``_small_dense.py`` (small data, dense Hessians).
- ``_array_api.py``: the Array API backend (torch, cupy, array-api-strict
  arrays under ``array_api_dispatch``): the same data term in ``xp``
  operations, on the data's device.
- ``_dask.py``: the Dask backend: the numpy data term on each row block of a
  Dask array, on the worker holding it; the parts summed on the client.
"""

from ._backend_choice import make_objective
from ._base import KernelHessian, MiniBatchObjective, SoftmaxObjective
from ._numpy import ChunkedSoftmaxCrossEntropy, auto_chunk_size
from ._protocol import DataTerm

__all__ = [
    "ChunkedSoftmaxCrossEntropy",
    "DataTerm",
    "KernelHessian",
    "MiniBatchObjective",
    "SoftmaxObjective",
    "auto_chunk_size",
    "make_objective",
]
