"""The device chooser prefers CUDA, then MPS, then CPU, and can be forced to CPU."""

import pytest
import torch

from course_lib import device


@pytest.fixture
def availability(monkeypatch):
    """Pretend which accelerators exist: returns a setter."""

    def set_available(cuda=False, mps=False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    monkeypatch.delenv(device.DEVICE_ENV_VAR, raising=False)
    return set_available


def test_cpu_when_nothing_else(availability):
    availability()
    assert device.choose_device().type == "cpu"


def test_cuda_first(availability):
    availability(cuda=True, mps=True)
    assert device.choose_device().type == "cuda"


def test_mps_before_cpu(availability):
    availability(mps=True)
    assert device.choose_device().type == "mps"


def test_env_var_forces_cpu(availability, monkeypatch):
    availability(cuda=True, mps=True)
    monkeypatch.setenv(device.DEVICE_ENV_VAR, "cpu")
    assert device.choose_device().type == "cpu"


def test_unknown_device_is_a_clear_error(availability):
    availability()
    with pytest.raises(ValueError, match="device: expected one of cpu, cuda, mps"):
        device.choose_device("tpu")


def test_unavailable_device_says_what_is_available(availability):
    availability()
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available here; available: cpu"):
        device.choose_device("cuda")


def test_describe_cpu_mentions_no_gpu(availability):
    availability()
    assert "cpu" in device.describe_device()


def test_device_names_are_case_insensitive_and_may_carry_an_index(availability):
    availability(cuda=True)
    assert device.choose_device("CPU").type == "cpu"
    chosen = device.choose_device("cuda:0")
    assert chosen.type == "cuda" and chosen.index == 0
