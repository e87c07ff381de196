"""Self-checks with diagnosing feedback for the exercises and lessons.

Each ``check_*`` takes the learner's function (or model, or value), runs it on the notebook's
example plus random inputs, and either prints ``[check_id] passed: ...`` (and records the pass
in the progress store) or raises :class:`CheckFailed` (an ``AssertionError``) that names the
mistake: wrong output shape with the formula, flipped kernel, channels on the wrong axis,
off-by-one, forgotten bias, wrong gradient shape, hard-coded answers. Repeated failures of the
same check give stronger hints (the hint ladder, see :mod:`course_lib.checks.feedback`).

References are computed here with plain numpy (:mod:`course_lib.checks.reference`); nothing
depends on ``course_lib.ops``.
"""

from .answers import answer_digest, check_answer
from .conv import check_conv1d, check_conv2d, check_dense_forward, check_locally_connected1d, check_output_size
from .counts import check_conv1d_flops, check_conv_params, check_dense_flops, check_dense_params
from .equivariance import check_equivariance_gap, check_shift
from .feedback import CheckFailed, Diagnosis, HintLadder, ladder
from .grads import check_conv2d_backward, check_max_pool2d, check_max_pool2d_backward, check_numerical_gradient
from .models import check_classifier_output, check_ekgnet
from .modern import check_batch_norm2d, check_conv_transpose2d, check_depthwise_separable

__all__ = [
    "CheckFailed", "Diagnosis", "HintLadder", "ladder",
    "check_output_size", "check_conv1d", "check_conv2d", "check_locally_connected1d", "check_dense_forward",
    "check_dense_params", "check_conv_params", "check_dense_flops", "check_conv1d_flops",
    "check_shift", "check_equivariance_gap",
    "check_max_pool2d", "check_max_pool2d_backward", "check_conv2d_backward", "check_numerical_gradient",
    "check_ekgnet", "check_classifier_output",
    "check_depthwise_separable", "check_conv_transpose2d", "check_batch_norm2d",
    "check_answer", "answer_digest",
]
