"""Tests of the temporary-free vector helpers."""

import numpy as np

from sk_softmax import _vector
from sk_softmax._vector import add_scaled, max_abs


def test_max_abs_matches_numpy_and_propagates_nan():
    v = np.array([0.5, -3.0, 2.0])
    assert max_abs(v) == 3.0
    assert max_abs(np.zeros(0)) == 0.0
    assert np.isnan(max_abs(np.array([1.0, np.nan, -2.0])))
    assert np.isnan(max_abs(np.array([np.nan, 1.0])))


def test_add_scaled_equals_the_unblocked_update(monkeypatch):
    monkeypatch.setattr(_vector, "_BLOCK_ELEMENTS", 7)  # several blocks
    rng = np.random.default_rng(0)
    v, x = rng.standard_normal(50), rng.standard_normal(50)
    expected = v + 0.3 * x
    assert add_scaled(v, 0.3, x) is v
    np.testing.assert_array_equal(v, expected)
    # a non-contiguous 2-D view: the weight columns of a (K, d + 1) gradient
    G, W = rng.standard_normal((6, 5)), rng.standard_normal((6, 4))
    expected = G.copy()
    expected[:, :4] += 0.5 * W
    add_scaled(G[:, :4], 0.5, W)
    np.testing.assert_array_equal(G, expected)
