"""sk_softmax: softmax (multinomial logistic) regression for scikit-learn."""

from ._config import config_context, get_config, set_config
from ._cv import SoftmaxRegressionCV
from ._estimator import SoftmaxRegression

__version__ = "0.1.0"

__all__ = [
    "SoftmaxRegression",
    "SoftmaxRegressionCV",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
