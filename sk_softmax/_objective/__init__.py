"""The objective: softmax cross-entropy plus a penalty, by compute backend.

- ``_base.py``: what does not depend on where the data live: the parameter
  layout, the normalisation by the weight sum, the penalty term
  (:mod:`sk_softmax._penalty`), the contract the solvers use
  (``loss_gradient``, ``hessian_product``, ``lipschitz_bound``) and the
  mini-batch view of SGD.
- ``_numpy.py``: the numpy / scipy.sparse backend, a chunked kernel with its
  worker threads and private BLAS.
- ``_sparse.py``: the two in-place sparse products of that kernel.
- ``_array_api.py``: the Array API backend (torch, cupy, array-api-strict
  arrays under ``array_api_dispatch``): the same data term in ``xp``
  operations, on the data's device.
- ``_dask.py``: the Dask backend: the numpy kernel on each row block of a
  Dask array, on the worker holding it; the parts summed on the client.
"""

from ._base import MiniBatchObjective, SoftmaxObjective
from ._numpy import SoftmaxCrossEntropyL2, auto_chunk_size

__all__ = [
    "MiniBatchObjective",
    "SoftmaxCrossEntropyL2",
    "SoftmaxObjective",
    "auto_chunk_size",
]
