"""matplotlib figures for the lessons. Submodules: ``conv`` (kernels, feature maps,
receptive fields, sliding windows), ``matrix`` (a convolution as a tied sparse matrix),
``training`` (training curves, the live plot), ``explorer`` (the conv explorer's figure),
``study`` (the flashcard progress chart) and ``png`` (figures as PNG bytes for Image widgets).
Names are imported on first use."""

from course_lib.lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, ("conv", "matrix", "training", "explorer", "study", "png"))
