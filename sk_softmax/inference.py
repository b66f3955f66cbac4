"""Result classes and warnings of :meth:`SoftmaxRegression.inference
<sk_softmax.SoftmaxRegression.inference>` (user guide: "Inference")."""

from ._inference import IllConditionedWarning
from ._inference_results import (
    InferenceResults,
    LRTestResult,
    MarginalEffects,
    Summary,
    WaldTestResult,
)

__all__ = [
    "IllConditionedWarning",
    "InferenceResults",
    "LRTestResult",
    "MarginalEffects",
    "Summary",
    "WaldTestResult",
]
