"""scikit-learn's estimator checks, on every solver, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_softmax import SoftmaxRegression


@parametrize_with_checks(
    [
        SoftmaxRegression(),
        SoftmaxRegression(solver="gd"),
        SoftmaxRegression(solver="sgd", random_state=0),
        SoftmaxRegression(l1_ratio=0.5),
        SoftmaxRegression(l1_ratio=1.0, solver="gd"),
    ],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
