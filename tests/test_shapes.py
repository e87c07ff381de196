"""course_lib.shapes: the counting formulas, checked against PyTorch layers and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import ops, shapes
from course_lib.nn.layers import Conv2d, LocallyConnected1d


def test_lesson_one_dense_layer_on_a_colour_image():
    assert shapes.dense_params(256 * 256 * 3, 1000, bias=False) == 196_608_000
    assert shapes.dense_params(256 * 256 * 3, 1000) == 196_608_000 + 1000
    assert shapes.dense_flops(256 * 256 * 3, 1000) == 2 * 196_608_000


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_output_size_matches_torch(n, k, s, p, d):
    if d * (k - 1) + 1 > n + 2 * p:
        with pytest.raises(ValueError, match="larger than the padded input"):
            shapes.conv_output_size(n, k, s, p, d)
        return
    y = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
    assert shapes.conv_output_size(n, k, s, p, d) == y.shape[-1]


def test_conv_output_size_padding_strings():
    assert shapes.conv_output_size(28, 5, padding="same") == 28
    assert shapes.conv_output_size(28, 5, padding="valid") == 24
    assert shapes.conv_output_size(100, 20, stride=10) == 9
    with pytest.raises(ValueError, match=r"padding='same' needs stride=1 \(as in PyTorch\); got stride=2"):
        shapes.conv_output_size(28, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be an int >= 0, 'valid' or 'same'; got 'full'"):
        shapes.conv_output_size(28, 3, padding="full")
    with pytest.raises(ValueError, match="stride must be an int >= 1; got 0"):
        shapes.conv_output_size(28, 3, stride=0)
    with pytest.raises(TypeError, match="kernel must be an int >= 1; got float 2.5"):
        shapes.conv_output_size(28, 2.5)


def brute_force_receptive_field(layers, n_input=200):
    """Which inputs can influence output 0 of the stack? Follow a gradient through real convs."""
    x = torch.zeros(1, 1, n_input, requires_grad=True)
    y = x
    for layer in layers:
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) == 3 else 1
        y = F.conv1d(y, torch.ones(1, 1, k), stride=s, dilation=d)
    y[0, 0, 0].backward()
    touched = np.flatnonzero(x.grad[0, 0].numpy())
    size = touched.max() - touched.min() + 1
    # jump: distance in the input between outputs 0 and 1
    x2 = torch.zeros(1, 1, n_input, requires_grad=True)
    y2 = x2
    for layer in layers:
        d = layer[2] if len(layer) == 3 else 1
        y2 = F.conv1d(y2, torch.ones(1, 1, layer[0]), stride=layer[1], dilation=d)
    y2[0, 0, 1].backward()
    jump = np.flatnonzero(x2.grad[0, 0].numpy()).min() - touched.min()
    return int(size), int(jump)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(layers=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=4))
def test_receptive_field_matches_brute_force(layers):
    result = shapes.receptive_field(layers)
    assert len(result) == len(layers)
    assert (result[-1].size, result[-1].jump) == brute_force_receptive_field(layers)


def test_receptive_field_of_a_familiar_stack():
    rf = shapes.receptive_field([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2)])
    assert [(r.size, r.jump) for r in rf] == [(3, 1), (5, 1), (6, 2), (10, 2), (14, 2), (16, 4)]
    with pytest.raises(ValueError, match=r"layers\[1\] must be \(kernel, stride\), \(kernel, stride, dilation\) or \(kernel, stride, dilation, padding\); got 3"):
        shapes.receptive_field([(3, 1), 3])
    with pytest.raises(ValueError, match=r"layers\[0\] stride must be an int >= 1; got 0"):
        shapes.receptive_field([(3, 0)])


def test_param_counts_match_torch_modules():
    assert shapes.conv_params(3, 16, (5, 5)) == shapes.param_count(torch.nn.Conv2d(3, 16, 5))
    assert shapes.conv_params(3, 16, (5, 5), bias=False) == shapes.param_count(torch.nn.Conv2d(3, 16, 5, bias=False))
    assert shapes.conv_params(4, 8, 7) == shapes.param_count(torch.nn.Conv1d(4, 8, 7))
    assert shapes.dense_params(20, 30) == shapes.param_count(torch.nn.Linear(20, 30))
    assert shapes.conv_params(1, 32, (3, 3)) == shapes.param_count(Conv2d(1, 32, 3)) == 320
    lc = LocallyConnected1d(2, 4, input_length=100, kernel_size=5, stride=5)   # 20 positions
    assert shapes.locally_connected_params(2, 4, 5, 20) == shapes.param_count(lc) == 20 * 4 * 2 * 5 + 20 * 4


def test_param_count_of_specs_and_shared_parameters():
    spec = [{"kind": "conv", "c_in": 1, "c_out": 32, "kernel": (3, 3)},
            {"kind": "dense", "n_in": 32 * 26 * 26, "n_out": 10}]
    assert shapes.param_count(spec) == 320 + 32 * 26 * 26 * 10 + 10
    shared = torch.nn.Linear(3, 3)
    assert shapes.param_count(torch.nn.Sequential(shared, shared)) == 12
    with pytest.raises(ValueError, match=r"unknown kind 'attention'; expected one of"):
        shapes.param_count({"kind": "attention"})
    with pytest.raises(TypeError, match=r"expected a torch module, a dict with a 'kind' key"):
        shapes.param_count(42)
    with pytest.raises(TypeError, match=r"does not fit conv_params"):
        shapes.param_count({"kind": "conv", "c_in": 1})


def test_conv_flops_count_the_multiply_adds_of_the_loops():
    """2 FLOPs per multiply-add in the formula: count the products the loops backend performs."""
    N, c_in, c_out, k, n = 2, 3, 4, 3, 8
    out = shapes.conv_output_size(n, k, padding=1)
    products = N * c_out * out * out * c_in * k * k
    assert shapes.conv_flops(c_in, c_out, (k, k), (out, out), batch=N) == 2 * products
    assert shapes.flop_count({"kind": "conv", "c_in": c_in, "c_out": c_out, "kernel": (k, k),
                              "output_size": (out, out), "batch": N}) == 2 * products
    assert shapes.locally_connected_flops(2, 4, 5, 20) == shapes.conv_flops(2, 4, 5, 20)
    # a locally connected layer has the conv's FLOPs but L_out times its weights
    assert shapes.locally_connected_params(2, 4, 5, 20, bias=False) == 20 * shapes.conv_params(2, 4, 5, bias=False)


def test_output_size_agrees_with_ops():
    x = np.zeros((1, 1, 13, 11))
    w = np.zeros((1, 1, 3, 2))
    y = ops.conv2d(x, w, stride=(2, 3), padding=1, dilation=(2, 1))
    assert y.shape[2:] == (shapes.conv_output_size(13, 3, 2, 1, 2), shapes.conv_output_size(11, 2, 3, 1, 1))


@pytest.mark.parametrize("module", ["course_lib.shapes", "course_lib.ops"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
