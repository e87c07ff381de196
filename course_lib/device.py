"""The one place that decides where tensors live: CUDA, then Apple MPS, then CPU.

Set the environment variable ``COURSE_LIB_DEVICE`` to ``cpu`` (or ``cuda``, ``mps``)
to force a choice, for example to compare timings or to work around a driver problem.
"""

from __future__ import annotations

import os

ENV_VAR = "COURSE_LIB_DEVICE"
_KNOWN = ("cpu", "cuda", "mps")


class DeviceChoiceError(ValueError):
    """The device asked for (argument or ``$COURSE_LIB_DEVICE``) is unknown or not available here."""


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(prefer: str | None = None):
    """Return the ``torch.device`` to train on: CUDA → MPS → CPU.

    ``prefer`` (or the ``COURSE_LIB_DEVICE`` environment variable) names a device to use
    instead; asking for one that is not available raises ``ValueError`` saying what is.
    """
    import torch

    wanted = prefer if prefer is not None else os.environ.get(ENV_VAR, "")
    wanted = str(wanted).strip().lower() or None
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": _mps_available(torch),
        "cpu": True,
    }
    if wanted is not None:
        kind, _, index = wanted.partition(":")  # "cuda:1" names a CUDA device by index
        if kind not in _KNOWN or (index and not index.isdigit()):
            raise DeviceChoiceError(
                f"device: expected one of {', '.join(_KNOWN)}, optionally with an index such as cuda:1 "
                f"(from the argument or ${ENV_VAR}), got {wanted!r}"
            )
        if not available[kind]:
            have = ", ".join(name for name in _KNOWN if available[name])
            raise DeviceChoiceError(f"device: {wanted!r} was asked for but is not available here; available: {have}")
        return torch.device(wanted)
    for name in ("cuda", "mps"):
        if available[name]:
            return torch.device(name)
    return torch.device("cpu")


def describe_device(device=None) -> str:
    """One line for humans: which device is in use and why."""
    import torch

    device = device if device is not None else choose_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    forced = os.environ.get(ENV_VAR)
    return "cpu (forced by $%s)" % ENV_VAR if forced else "cpu (no GPU found; everything in the course runs on CPU)"
