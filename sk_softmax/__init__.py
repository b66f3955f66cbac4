"""sk_softmax: softmax (multinomial logistic) regression for scikit-learn."""

from ._estimator import SoftmaxRegression

__version__ = "0.1.0"

__all__ = ["SoftmaxRegression", "__version__"]
