"""Predictions on Dask input are lazy: no block of ``X`` is computed before
``.compute()``, then each exactly once.

The blocks are produced by a counting loader in this process (dask's
synchronous scheduler), so the count is that of real executions, whatever
the prediction code does with the graph; the values are checked against the
in-memory predictions of the same model.
"""

import numpy as np
import pytest

from sk_softmax import SoftmaxRegression

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

METHODS = ["predict", "predict_proba", "predict_log_proba", "decision_function"]


def _counted_blocks(X, rows, loads):
    """``X`` as a Dask array of row blocks, each made by a task that appends
    its block number to ``loads`` when it runs."""

    def load(i):
        loads.append(i)
        return X[i * rows : (i + 1) * rows].copy()

    parts = [
        da.from_delayed(
            dask.delayed(load)(i),
            shape=X[i * rows : (i + 1) * rows].shape,
            dtype=X.dtype,
            meta=X[:0],
        )
        for i in range(-(-X.shape[0] // rows))
    ]
    return da.concatenate(parts)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("method", METHODS)
def test_predictions_compute_nothing_before_compute(make_problem, method, n_classes):
    X, y, _ = make_problem(seed=21, n=250, d=5, k=n_classes)
    model = SoftmaxRegression().fit(X, y)
    loads = []
    Xd = _counted_blocks(X, 60, loads)  # 5 blocks, the last one short
    with dask.config.set(scheduler="sync"):
        out = getattr(model, method)(Xd)
        assert isinstance(out, da.Array)
        assert loads == []  # nothing ran yet
        assert out.chunks[0] == Xd.chunks[0]
        values = out.compute()
    assert sorted(loads) == list(range(5))  # each block once
    np.testing.assert_array_equal(values, getattr(model, method)(X))
