"""Soft targets and label smoothing: exact equivalences and validation."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.preprocessing import StandardScaler

from sk_softmax import SoftmaxRegression


def _data(loader=load_wine):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit(X, y, sample_weight=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # ftol stop at 1e-10
        return SoftmaxRegression(tol=1e-10, **kw).fit(X, y, sample_weight=sample_weight)


def test_one_hot_targets_equal_labels():
    X, y = _data()
    labels = _fit(X, y)
    onehot = _fit(X, np.eye(3)[y])
    np.testing.assert_array_equal(onehot.classes_, [0, 1, 2])
    np.testing.assert_allclose(onehot.coef_, labels.coef_, atol=1e-8)
    np.testing.assert_allclose(onehot.intercept_, labels.intercept_, atol=1e-8)


@pytest.mark.parametrize("class_weight", [None, {0: 2.0, 1: 0.5, 2: 1.0}, "balanced"])
def test_soft_row_equals_weighted_copies(class_weight):
    # A soft row (0.3, 0.7) is two copies of the row, labelled 0 and 1, with
    # sample weights 0.3 and 0.7: the objectives are identical.
    X, y = _data()
    rng = np.random.default_rng(0)
    Y = rng.dirichlet(np.full(3, 0.5), size=len(y))
    sw = rng.uniform(0.5, 2.0, size=len(y))
    soft = _fit(X, Y, sample_weight=sw, class_weight=class_weight)
    K = 3
    X_rep = np.repeat(X, K, axis=0)
    y_rep = np.tile(np.arange(K), len(y))
    w_rep = (Y * sw[:, None]).ravel()
    copies = _fit(X_rep, y_rep, sample_weight=w_rep, class_weight=class_weight)
    np.testing.assert_allclose(soft.coef_, copies.coef_, atol=1e-6)
    np.testing.assert_allclose(soft.intercept_, copies.intercept_, atol=1e-6)


def test_two_class_soft_row_example():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    Y = np.array([[1.0, 0.0], [0.3, 0.7], [0.6, 0.4], [0.0, 1.0]])
    soft = _fit(X, Y)
    X_rep = np.array([[0.0], [1.0], [1.0], [2.0], [2.0], [3.0]])
    copies = _fit(X_rep, [0, 0, 1, 0, 1, 1], [1.0, 0.3, 0.7, 0.6, 0.4, 1.0])
    np.testing.assert_allclose(soft.coef_, copies.coef_, atol=1e-7)
    np.testing.assert_allclose(
        soft.predict_proba(X), copies.predict_proba(X), atol=1e-8
    )


@pytest.mark.parametrize("soft", [False, True])
def test_label_smoothing_equals_smoothed_targets(soft):
    X, y = _data(load_iris)
    eps, K = 0.15, 3
    T = np.random.default_rng(1).dirichlet(np.ones(K), size=len(y)) if soft else None
    target = T if soft else y
    base = T if soft else np.eye(K)[y]
    smooth = _fit(X, target, label_smoothing=eps)
    explicit = _fit(X, (1 - eps) * base + eps / K)
    np.testing.assert_allclose(smooth.coef_, explicit.coef_, atol=1e-7)
    # Smoothing keeps probabilities away from 0 and 1: smaller weights.
    assert np.linalg.norm(smooth.coef_) < np.linalg.norm(_fit(X, target).coef_)


def test_distillation_recovers_the_teacher():
    # A linear softmax teacher's probabilities are attainable by the student,
    # so the unpenalised cross-entropy to them is minimised by the teacher.
    X, y = _data()
    teacher = SoftmaxRegression(C=0.1).fit(X, y)
    student = _fit(X, teacher.predict_proba(X), C=np.inf)
    np.testing.assert_allclose(
        student.predict_proba(X), teacher.predict_proba(X), atol=1e-4
    )
    np.testing.assert_array_equal(student.predict(X), teacher.predict(X))


def test_dataframe_targets_name_the_classes():
    pd = pytest.importorskip("pandas")
    X, y = _data(load_iris)
    Y = pd.DataFrame(np.eye(3)[y], columns=["setosa", "versicolor", "virginica"])
    clf = SoftmaxRegression().fit(X, Y)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.predict(X[:1])[0] == "setosa"


def test_unsorted_dataframe_columns_give_sorted_classes_and_aligned_scores():
    # Issue 20: columns ["c", "a", "b"] became classes_ in that order, so
    # scikit-learn's probability scorers (which sort the labels) misaligned
    # the columns and partial_fit(classes=["a", "b", "c"]) was refused.
    pd = pytest.importorskip("pandas")
    from sklearn.metrics import get_scorer

    X, y = _data(load_iris)
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=len(y)) * 0.3 + 0.7 * np.eye(3)[y]
    names = np.array(["a", "b", "c"])
    sorted_frame = pd.DataFrame(P, columns=names)
    unsorted = sorted_frame[["c", "a", "b"]]
    labels = names[y]
    ref = _fit(X, sorted_frame)
    clf = _fit(X, unsorted)
    np.testing.assert_array_equal(clf.classes_, names)
    # equal up to the rounding of the row sums, added in another order
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-12, atol=1e-12)
    for scoring in ("neg_log_loss", "roc_auc_ovr"):
        scorer = get_scorer(scoring)
        assert scorer(clf, X, labels) == pytest.approx(scorer(ref, X, labels))
    assert get_scorer("neg_log_loss")(clf, X, labels) > -0.7  # the aligned one
    # partial_fit: the classes name the columns in any order, on every call
    pf = SoftmaxRegression().partial_fit(X, unsorted, classes=["a", "b", "c"])
    pf_ref = SoftmaxRegression().partial_fit(X, sorted_frame, classes=names)
    np.testing.assert_allclose(pf.coef_, pf_ref.coef_, rtol=1e-12, atol=1e-12)
    pf.partial_fit(X, sorted_frame[["b", "c", "a"]])
    pf_ref.partial_fit(X, sorted_frame)
    np.testing.assert_allclose(pf.coef_, pf_ref.coef_, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"are not the classes \['a', 'b', 'c'\]"):
        pf.partial_fit(X, sorted_frame.set_axis(["a", "b", "x"], axis=1))
    from sk_softmax._targets import soft_column_order

    with pytest.raises(ValueError, match="must be unique"):  # Dask frames
        soft_column_order(["a", "b", "a"])


def test_column_vector_y_is_labels_with_warning():
    X, y = _data(load_iris)
    with pytest.warns(DataConversionWarning):
        clf = SoftmaxRegression().fit(X, y[:, None])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_bad_soft_targets_raise():
    X, y = _data(load_iris)
    Y = np.eye(3)[y]
    bad = Y.copy()
    bad[5] = [1.2, -0.2, 0.0]
    with pytest.raises(ValueError, match=r"non-negative .* Y\[5, 1\] = -0.2"):
        SoftmaxRegression().fit(X, bad)
    bad = Y.copy()
    bad[7] = [0.5, 0.2, 0.2]
    with pytest.raises(ValueError, match="must sum to 1 .* row 7 sums to 0.9"):
        SoftmaxRegression().fit(X, bad)
    bad = Y.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        SoftmaxRegression().fit(X, bad)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxRegression().fit(X, Y[:-1])
    clf = SoftmaxRegression().partial_fit(X, Y)
    with pytest.raises(ValueError, match="have 4 columns, but the model has 3 classes"):
        clf.partial_fit(X, np.full((len(y), 4), 0.25))
    with pytest.raises(ValueError, match="'label_smoothing' parameter"):
        SoftmaxRegression(label_smoothing=1.0).fit(X, y)


def test_rounding_negatives_are_clipped_real_negatives_rejected():
    # 1 - (sum of the others) can come out as -1e-17: the same 1e-6 tolerance
    # as the row sums applies, on a copy; a real negative is still an error.
    X, y = _data(load_iris)
    Y = np.eye(3)[y] * 0.7 + 0.1
    Y[4] = [0.7, 0.3 + 1e-17, -1e-17]
    Y[9] = [0.5, 0.5 + 5e-7, -5e-7]
    given = Y.copy()
    clipped = np.maximum(Y, 0.0)
    rounded = _fit(X, Y)
    np.testing.assert_array_equal(Y, given)  # the user's array is untouched
    np.testing.assert_array_equal(rounded.coef_, _fit(X, clipped).coef_)
    for fit in (
        lambda Y: SoftmaxRegression().fit(X, Y),
        lambda Y: SoftmaxRegression().partial_fit(X, Y),
    ):
        fit(Y)
        bad = Y.copy()
        bad[9] = [0.5, 0.5 + 2e-6, -2e-6]
        with pytest.raises(ValueError, match=r"non-negative .* Y\[9, 2\] = -2e-06"):
            fit(bad)


def test_partial_fit_soft_targets_check_classes():
    X, y = _data(load_iris)
    Y = np.eye(3)[y] * 0.7 + 0.1
    with pytest.raises(ValueError, match=r"has 4 entries, but the soft targets Y"):
        SoftmaxRegression().partial_fit(X, Y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="must be sorted and unique"):
        SoftmaxRegression().partial_fit(X, Y, classes=["c", "b", "a"])
    named = SoftmaxRegression().partial_fit(X, Y, classes=["a", "b", "c"])
    np.testing.assert_array_equal(named.classes_, ["a", "b", "c"])
    assert named.predict(X[:1])[0] == "a"
    np.testing.assert_array_equal(
        named.coef_, SoftmaxRegression().partial_fit(X, Y).coef_
    )
    named.partial_fit(X, Y, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"classes=\['a', 'b', 'd'\]` is not the same"):
        named.partial_fit(X, Y, classes=["a", "b", "d"])
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(Y, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"are not the classes"):
        SoftmaxRegression().partial_fit(X, frame, classes=["a", "b", "x"])
    ok = SoftmaxRegression().partial_fit(X, frame, classes=["a", "b", "c"])
    np.testing.assert_array_equal(ok.classes_, ["a", "b", "c"])


def test_target_functions_are_pure():
    # The validation module's functions return new arrays: the caller's
    # soft targets and weights are never modified.
    from sk_softmax import _targets

    Y = np.array([[0.5, 0.5 + 5e-7, -5e-7], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    Y_before = Y.copy()
    V = _targets.validate_soft_targets(Y)
    np.testing.assert_array_equal(Y, Y_before)
    assert V is not Y and V.min() == 0.0
    with pytest.raises(ValueError, match=r"Y\[0, 2\]"):
        _targets.validate_soft_targets(Y - np.array([0, 0, 2e-6]))
    classes = np.array([0, 1, 2])
    sw = np.array([1.0, 2.0, 3.0])
    Yw, sw_w = _targets.apply_class_weight("balanced", classes, None, V, sw.copy())
    # "balanced" for soft targets: weighted counts sw @ Y; each row's weight
    # becomes sum_k Y_ik w_k and the row is renormalised.
    counts = sw @ V
    cw = counts.sum() / (3 * counts)
    np.testing.assert_allclose(sw_w, sw * (V @ cw))
    np.testing.assert_allclose(Yw, V * cw / (V @ cw)[:, None])
    codes = _targets.encode_with_known_classes(["b", "a"], np.array(["a", "b"]))
    np.testing.assert_array_equal(codes, [1, 0])
    with pytest.raises(ValueError, match="not in classes"):
        _targets.encode_with_known_classes(["c"], np.array(["a", "b"]))
    found, codes = _targets.encode_labels(["z", "x", "z"])
    np.testing.assert_array_equal(found, ["x", "z"])
    np.testing.assert_array_equal(codes, [1, 0, 1])
    assert _targets.is_soft([[0.5, 0.5]]) and not _targets.is_soft([1, 2])


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 1, 2, 1, 3, 2]),
        np.array([3, 1, 2, 1, 3, 2], dtype=np.uint8),
        np.array([True, False, True, False, True, False]),
        np.array([2.0, -1.0, 0.0, -1.0, 2.0, 0.0]),
        np.array(["c", "a", "b", "a", "c", "b"]),
        np.array(["c", "a", "b", "a", "c", "b"], dtype=object),
    ],
)
def test_label_encoding_is_labelencoders(labels):
    # Numeric labels are encoded by np.unique instead of LabelEncoder (a
    # fixed-cost shortcut): same classes_, same model.
    from sklearn.preprocessing import LabelEncoder

    X = np.random.default_rng(0).normal(size=(6, 2))
    clf = SoftmaxRegression(solver="lbfgs").fit(X, labels)
    le = LabelEncoder().fit(labels)
    np.testing.assert_array_equal(clf.classes_, le.classes_)
    assert clf.classes_.dtype == le.classes_.dtype
    ref = SoftmaxRegression(solver="lbfgs").fit(X, le.transform(labels))
    np.testing.assert_array_equal(clf.coef_, ref.coef_)
    np.testing.assert_array_equal(clf.predict(X), le.inverse_transform(ref.predict(X)))


def test_continuous_float_labels_are_still_rejected():
    X = np.random.default_rng(0).normal(size=(6, 2))
    with pytest.raises(ValueError, match="Unknown label type"):
        SoftmaxRegression().fit(X, [0.5, 1.5, 0.25, 0.5, 1.5, 0.3])


@pytest.mark.parametrize(
    "dtype",
    [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64],
)
@pytest.mark.parametrize("low, high, n", [(0, 5, 50), (0, 200, 40), (7, 8, 1)])
def test_integer_labels_encode_as_np_unique(dtype, low, high, n):
    # The counting path for integer labels in a small range gives
    # np.unique's classes (same dtype) and codes; wide ranges take np.unique.
    from sk_softmax._targets import encode_labels

    y = np.random.default_rng(low + n).integers(low, high, n).astype(dtype)
    classes, codes = encode_labels(y)
    ref_classes, ref_codes = np.unique(y, return_inverse=True)
    assert classes.dtype == ref_classes.dtype
    np.testing.assert_array_equal(classes, ref_classes)
    np.testing.assert_array_equal(codes, ref_codes)
    assert np.array_equal(classes[codes], y)


def test_extreme_integer_labels_encode_as_np_unique():
    from sk_softmax._targets import encode_labels

    for y in [np.array([-(2**63), 2**63 - 1, 0]), np.array([-100, 100, -100], np.int8)]:
        classes, codes = encode_labels(y)
        np.testing.assert_array_equal(classes, np.unique(y))
        np.testing.assert_array_equal(classes[codes], y)


_SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "gd", "sgd"]


@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf])
def test_negative_nan_or_infinite_class_weight_is_a_value_error(value):
    # Issue 20: gd/sgd raised LinAlgError, lbfgs/newton returned all-zero or
    # absurd models. Now sample_weight's wording, on every path.
    from sk_softmax import SoftmaxRegressionCV

    X, y = _data(load_iris)
    cw = {0: 1.0, 1: value, 2: 1.0}
    match = {
        -1.0: r"Negative values in data passed to `class_weight`: class 1",
        np.inf: r"Input class_weight contains infinity: class 1 has weight inf",
    }.get(value, r"Input class_weight contains NaN: class 1 has weight nan")
    for solver in _SOLVERS:
        with pytest.raises(ValueError, match=match):
            SoftmaxRegression(solver=solver, class_weight=cw).fit(X, y)
    with pytest.raises(ValueError, match=match):  # soft targets
        SoftmaxRegression(class_weight=cw).fit(X, np.eye(3)[y])
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression(class_weight=cw).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressionCV(Cs=2, cv=2, class_weight=cw).fit(X, y)


def test_weights_whose_sum_overflows_are_a_value_error():
    # Issue 20: finite weights summing past 1.8e308 gave an all-zero model
    # with n_iter_=0 and no warning, from every solver.
    from sk_softmax import SoftmaxRegressionCV

    X, y = _data(load_iris)
    sw = np.full(len(y), 1.2e306)  # 150 of them: 1.8e308
    with np.errstate(over="ignore"):
        assert np.isinf(sw.sum()) and np.all(np.isfinite(sw))
    match = "sum to more than the largest float64"
    for solver in _SOLVERS:
        with pytest.raises(ValueError, match=match):
            SoftmaxRegression(solver=solver).fit(X, y, sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression().partial_fit(X, y, classes=[0, 1, 2], sample_weight=sw)
    with pytest.raises(ValueError, match=match):
        SoftmaxRegressionCV(Cs=2, cv=2).fit(X, y, sample_weight=sw)
    # weights that overflow only with the class weights
    with pytest.raises(ValueError, match=match):
        SoftmaxRegression(class_weight={0: 1e10, 1: 1, 2: 1}).fit(
            X, y, sample_weight=np.full(len(y), 1e300)
        )
    with pytest.raises(ValueError, match=match):  # balanced: counts overflow
        SoftmaxRegression(class_weight="balanced").fit(X, y, sample_weight=sw)


def test_the_overflow_advice_gives_the_same_model():
    # The message's advice: weights / c with C * c is the same objective
    # (it depends on s_i / S and C S only). Checked on weights that do not
    # overflow, against the fit with the original ones.
    X, y = _data(load_wine)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    ref = _fit(X, y, sample_weight=sw, C=0.3)
    scaled = _fit(X, y, sample_weight=sw / 1e3, C=0.3 * 1e3)
    np.testing.assert_allclose(scaled.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    # and at the edge: 1e306 each (S = 1.78e308, finite) is the model of unit
    # weights with C = 1e306, for sgd's mini-batch scale |B| S / n as well
    # (|B| S overflowed there: all-zero coefficients before)
    big = np.full(len(y), 1e306)
    for solver in ("sgd", "lbfgs"):
        kw = dict(solver=solver, random_state=0, max_iter=30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            unit = SoftmaxRegression(**kw, C=1e306).fit(X, y)
            huge = SoftmaxRegression(**kw, C=1.0).fit(X, y, sample_weight=big)
        np.testing.assert_allclose(huge.coef_, unit.coef_, rtol=1e-9, atol=1e-12)


def _normalised_twin(P, X, **kw):
    # Rows accepted within the tolerance are rounding: the fit is that of
    # the rows divided by their sums (in float64).
    Y = np.asarray(P, dtype=np.float64)
    return _fit(X, Y / Y.sum(axis=1)[:, None], **kw)


def test_float32_softmax_output_with_1000_classes_is_accepted():
    # Issue 20: the fixed 1e-6 row-sum tolerance refused torch.softmax's
    # float32 output at K=1000 (here the class-major layout, softmax over
    # dim 0 of (K, n) scores: row sums off by up to 2.4e-6 = 20 eps).
    torch = pytest.importorskip("torch")
    from sk_softmax._targets import row_sum_tolerance

    rng = np.random.default_rng(0)
    n, K = 300, 1000
    X = rng.normal(size=(n, 3))
    Z = torch.from_numpy((rng.normal(size=(K, n)) * 3).astype(np.float32))
    P = torch.softmax(Z, dim=0).T.numpy()
    assert P.dtype == np.float32
    err = np.abs(P.astype(np.float64).sum(axis=1) - 1).max()
    assert 1e-6 < err <= row_sum_tolerance(np.float32, K)  # refused before
    clf = _fit(X, P, C=0.1)
    twin = _normalised_twin(P, X, C=0.1)
    np.testing.assert_allclose(clf.coef_, twin.coef_, atol=1e-8)
    # a row clearly off is still refused, also in a DataFrame of float32
    bad = P.copy()
    bad[7] *= np.float32(1.001)
    with pytest.raises(
        ValueError, match=r"within 7.54e-06 for 1000 columns of float32"
    ):
        SoftmaxRegression().fit(X, bad)
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="row 7 sums to 1.00"):
        SoftmaxRegression().fit(X, pd.DataFrame(bad))


def test_float16_probabilities_are_accepted():
    # Issue 20: any float16 probabilities were refused (each entry rounds
    # by up to eps / 2 = 4.9e-4 relatively).
    X, y = _data(load_iris)
    teacher = _fit(X, y, C=0.05)
    P = teacher.predict_proba(X).astype(np.float16)
    assert np.abs(P.astype(np.float64).sum(axis=1) - 1).max() > 1e-6
    clf = _fit(X, P, C=0.05)
    twin = _normalised_twin(P, X, C=0.05)
    np.testing.assert_allclose(clf.coef_, twin.coef_, atol=1e-8)
    # and the student of the float64 probabilities, to float16's precision
    exact = _fit(X, teacher.predict_proba(X), C=0.05)
    np.testing.assert_allclose(clf.coef_, exact.coef_, atol=2e-3)
    bad = P.copy()
    bad[3] = [0.6, 0.3, 0.2]  # sums to 1.1
    with pytest.raises(ValueError, match="row 3 sums to 1.1"):
        SoftmaxRegression().fit(X, bad)
