"""PyTorch modules used in the lessons.

``layers``: course_lib's own layers (locally connected, a Conv2d whose backward is ours).
``models``: the networks the lessons train (EKGNet, MnistCNN, baselines).
"""

from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers_all
from .models import *  # noqa: F401,F403
from .models import __all__ as _models_all

__all__ = [*_layers_all, *_models_all]
