"""course_lib.shapes for modern architectures: groups, transposed convs, batch norm, pooling,
multiply-add counts and effective padding, checked against torch modules, brute force and the
published totals of torchvision's models (computed here from layer specs alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import shapes

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)


# ------------------------------------------------------------------- groups and transposed
@SETTINGS
@given(g=st.integers(1, 4), per_in=st.integers(1, 3), per_out=st.integers(1, 3), k=st.integers(1, 4),
       bias=st.booleans(), transposed=st.booleans())
def test_grouped_param_counts_match_torch_modules(g, per_in, per_out, k, bias, transposed):
    c_in, c_out = g * per_in, g * per_out
    if transposed:
        module = torch.nn.ConvTranspose2d(c_in, c_out, k, groups=g, bias=bias)
        assert shapes.conv_transpose_params(c_in, c_out, (k, k), bias, g) == shapes.param_count(module)
        spec = {"kind": "conv_transpose", "c_in": c_in, "c_out": c_out, "kernel": (k, k), "groups": g,
                "bias": bias, "input_size": (5, 5)}
    else:
        module = torch.nn.Conv2d(c_in, c_out, k, groups=g, bias=bias)
        assert shapes.conv_params(c_in, c_out, (k, k), bias, g) == shapes.param_count(module)
        spec = {"kind": "conv", "c_in": c_in, "c_out": c_out, "kernel": (k, k), "groups": g, "bias": bias,
                "output_size": (5, 5)}
    assert shapes.param_count(spec) == shapes.param_count(module)


@SETTINGS
@given(g=st.integers(1, 3), per_in=st.integers(1, 3), per_out=st.integers(1, 3), k=st.integers(1, 3),
       n=st.integers(3, 6), batch=st.integers(1, 2))
def test_grouped_flops_count_the_products_torch_performs(g, per_in, per_out, k, n, batch):
    """Count products directly: a conv with all-ones input and weights outputs, at each position,
    exactly the number of products summed there; the sum over the output is the MAC count."""
    c_in, c_out = g * per_in, g * per_out
    x = torch.ones(batch, c_in, n, n, dtype=torch.float64)
    y = F.conv2d(x, torch.ones(c_out, per_in, k, k, dtype=torch.float64), groups=g)
    macs = int(y.sum())
    out = tuple(y.shape[2:])
    assert shapes.conv_flops(c_in, c_out, (k, k), out, batch, g, unit="mac") == macs
    assert shapes.conv_flops(c_in, c_out, (k, k), out, batch, g) == 2 * macs
    # transposed: every input stamps (c_out // g) * k * k products
    yt = F.conv_transpose2d(x, torch.ones(c_in, per_out, k, k, dtype=torch.float64), groups=g, stride=2)
    assert shapes.conv_transpose_flops(c_in, c_out, (k, k), (n, n), batch, g, unit="mac") == int(yt.sum())
    spec = {"kind": "conv_transpose", "c_in": c_in, "c_out": c_out, "kernel": (k, k), "input_size": (n, n),
            "batch": batch, "groups": g, "bias": False}
    assert shapes.flop_count(spec, unit="mac") == int(yt.sum())


@SETTINGS
@given(n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 3),
       d=st.integers(1, 3), op=st.integers(0, 3))
def test_conv_transpose_output_size_matches_torch(n, k, s, p, d, op):
    if op >= max(s, d):
        with pytest.raises(ValueError, match=r"output_padding must be smaller than max\(stride, dilation\)"):
            shapes.conv_transpose_output_size(n, k, s, p, op, d)
        return
    full = (n - 1) * s + d * (k - 1) + op + 1
    if full - 2 * p < 1:
        with pytest.raises(ValueError, match="crops away the whole output"):
            shapes.conv_transpose_output_size(n, k, s, p, op, d)
        return
    y = F.conv_transpose1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p,
                           output_padding=op, dilation=d)
    size = shapes.conv_transpose_output_size(n, k, s, p, op, d)
    assert size == y.shape[-1]
    if op < s and d * (k - 1) + 1 <= size + 2 * p:      # the forward conv maps that size back to n
        assert shapes.conv_output_size(size, k, s, p, d) == n


def test_bad_groups_units_and_kinds_are_refused():
    with pytest.raises(ValueError, match=r"groups=3 must divide c_in=4"):
        shapes.conv_params(4, 6, (3, 3), groups=3)
    with pytest.raises(ValueError, match=r"groups=4 must divide c_out=6"):
        shapes.conv_flops(4, 6, (3, 3), (5, 5), groups=4)
    with pytest.raises(ValueError, match=r"groups must be an int >= 1; got 0"):
        shapes.conv_params(4, 4, 3, groups=0)
    with pytest.raises(TypeError, match=r"groups must be an int >= 1; got float 2.0"):
        shapes.conv_transpose_params(4, 4, 3, groups=2.0)
    with pytest.raises(ValueError, match=r"unit must be one of \('flop', 'mac'\).*got 'gmac'"):
        shapes.flop_count({"kind": "dense", "n_in": 3, "n_out": 4}, unit="gmac")
    with pytest.raises(ValueError, match=r"unknown kind 'attention'; expected one of"):
        shapes.flop_count({"kind": "attention"})
    with pytest.raises(ValueError, match=r"channels must be an int >= 1; got 0"):
        shapes.param_count({"kind": "batch_norm", "channels": 0})
    with pytest.raises(ValueError, match=r"output_padding must be an int >= 0; got -1"):
        shapes.conv_transpose_output_size(4, 3, 2, output_padding=-1)


def test_batch_norm_and_pool_kinds():
    assert shapes.param_count({"kind": "batch_norm", "channels": 64}) == shapes.param_count(torch.nn.BatchNorm2d(64)) == 128
    assert shapes.param_count({"kind": "batch_norm", "channels": 64, "affine": False}) == 0
    assert shapes.param_count({"kind": "pool", "kernel": 3, "stride": 2}) == 0
    assert shapes.flop_count([{"kind": "batch_norm", "channels": 8, "output_size": (4, 4)},
                              {"kind": "pool", "kernel": 2}]) == 0


def test_param_count_docstring_example_is_a_2d_conv():
    """The issue's docstring fix: an int kernel is 1-D (1*32*3 + 32 = 128), a (3, 3) kernel 2-D (320)."""
    assert shapes.param_count({"kind": "conv", "c_in": 1, "c_out": 32, "kernel": 3}) == 128
    assert shapes.param_count({"kind": "conv", "c_in": 1, "c_out": 32, "kernel": (3, 3)}) == 320
    assert '"kernel": (3, 3)' in shapes.param_count.__doc__ and '"kernel": 3}' not in shapes.param_count.__doc__


# ------------------------------------------------------------------ receptive field padding
def brute_force_field(layers, n_input=400):
    """Unit index, first input index, size and jump of the field of a middle output unit, by
    backprop through real padded convolutions."""
    def run(x):
        y = x
        for k, s, d, p in layers:
            y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d, padding=p)
        return y

    def touched(unit):
        x = torch.zeros(1, 1, n_input, dtype=torch.float64, requires_grad=True)
        run(x)[0, 0, unit].backward()
        hit = np.flatnonzero(x.grad[0, 0].numpy())
        return int(hit.min()), int(hit.max())

    unit = run(torch.zeros(1, 1, n_input, dtype=torch.float64)).shape[-1] // 2
    (first, last), (first_next, _) = touched(unit), touched(unit + 1)
    return unit, first, last - first + 1, first_next - first


@SETTINGS
@given(layers=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2)),
                       min_size=1, max_size=4))
def test_effective_padding_locates_the_field_like_brute_force(layers):
    rf = shapes.receptive_field(layers)[-1]
    unit, first, size, jump = brute_force_field(layers)
    assert (rf.size, rf.jump) == (size, jump)
    assert rf.span(unit) == (first, first + size - 1)
    assert rf.effective_padding == unit * jump - first
    # without padding the 4-tuple form agrees with the 3-tuple form
    plain = shapes.receptive_field([layer[:3] for layer in layers])[-1]
    assert (plain.size, plain.jump, plain.effective_padding) == (rf.size, rf.jump, 0)


def test_vgg16_pool5_receptive_field():
    """VGG-16 (Simonyan & Zisserman 2015): 13 3x3 convs (stride 1, padding 1) in five blocks of
    2, 2, 3, 3, 3, each block ending in a 2x2 stride-2 max pool.  Published values for pool5
    (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
    Distill 2019, https://distill.pub/2019/computing-receptive-fields/, Table 1 "VGG 16"):
    receptive field 212, effective stride 32, effective padding 90."""
    layers = []
    for convs in (2, 2, 3, 3, 3):
        layers += [(3, 1, 1, 1)] * convs + [(2, 2, 1, 0)]
    rf = shapes.receptive_field(layers)[-1]
    assert (rf.size, rf.jump, rf.effective_padding) == (212, 32, 90)
    assert rf.span(0) == (-90, 121)


def test_receptive_field_bad_layers():
    with pytest.raises(ValueError, match=r"\(kernel, stride, dilation, padding\); got \(3, 1, 1, 1, 1\)"):
        shapes.receptive_field([(3, 1, 1, 1, 1)])
    with pytest.raises(ValueError, match=r"layers\[0\] padding must be an int >= 0; got -1"):
        shapes.receptive_field([(3, 1, 1, -1)])


# --------------------------------------------------- published totals of torchvision models
def conv_bn(c_in, c_out, kernel, stride, padding, size, groups=1):
    """Specs of conv (no bias) + batch norm, as torchvision builds them; returns (specs, out size)."""
    out = shapes.conv_output_size(size, kernel, stride, padding)
    return [{"kind": "conv", "c_in": c_in, "c_out": c_out, "kernel": (kernel, kernel), "bias": False,
             "groups": groups, "output_size": (out, out)},
            {"kind": "batch_norm", "channels": c_out, "output_size": (out, out)}], out


def resnet_specs(block, layers):
    """torchvision.models.resnet (v1.5: the stride sits on the 3x3 conv of a bottleneck)."""
    specs, size = conv_bn(3, 64, 7, 2, 3, 224)
    size = shapes.conv_output_size(size, 3, 2, 1)
    specs.append({"kind": "pool", "kernel": 3, "stride": 2, "output_size": (size, size)})
    c_in, expansion = 64, (1 if block == "basic" else 4)
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        for index in range(blocks):
            stride = 2 if stage > 0 and index == 0 else 1
            if block == "basic":
                a, out = conv_bn(c_in, planes, 3, stride, 1, size)
                b, _ = conv_bn(planes, planes, 3, 1, 1, out)
                body = a + b
            else:
                a, _ = conv_bn(c_in, planes, 1, 1, 0, size)
                b, out = conv_bn(planes, planes, 3, stride, 1, size)
                c, _ = conv_bn(planes, planes * 4, 1, 1, 0, out)
                body = a + b + c
            if stride != 1 or c_in != planes * expansion:
                body += conv_bn(c_in, planes * expansion, 1, stride, 0, size)[0]
            specs += body
            c_in, size = planes * expansion, out
    specs.append({"kind": "pool", "kernel": size})          # global average pool
    specs.append({"kind": "dense", "n_in": c_in, "n_out": 1000})
    return specs


def mobilenet_v2_specs():
    """torchvision.models.mobilenet_v2 (width 1.0): inverted residual blocks (t, c, n, s)."""
    specs, size = conv_bn(3, 32, 3, 2, 1, 224)
    c_in = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for index in range(n):
            stride = s if index == 0 else 1
            hidden = c_in * t
            if t != 1:
                specs += conv_bn(c_in, hidden, 1, 1, 0, size)[0]           # expand 1x1
            depthwise, size = conv_bn(hidden, hidden, 3, stride, 1, size, groups=hidden)
            specs += depthwise + conv_bn(hidden, c, 1, 1, 0, size)[0]      # depthwise 3x3, project 1x1
            c_in = c
    specs += conv_bn(c_in, 1280, 1, 1, 0, size)[0]
    specs += [{"kind": "pool", "kernel": size}, {"kind": "dense", "n_in": 1280, "n_out": 1000}]
    return specs


# Published numbers: torchvision's model documentation ("Table of all available classification
# weights", https://pytorch.org/vision/stable/models.html, and each weight's meta data
# "num_params" / "_ops" in torchvision/models/{resnet,mobilenetv2}.py, torchvision 0.15+).
# torchvision's "GFLOPS" column counts multiply-adds of convolutions and linear layers for one
# 224x224 image (3 decimals in "_ops"): ResNet-18 1.814, ResNet-50 4.089, MobileNetV2 0.301.
PUBLISHED = {
    "resnet18": (lambda: resnet_specs("basic", (2, 2, 2, 2)), 11_689_512, 1.814),
    "resnet50": (lambda: resnet_specs("bottleneck", (3, 4, 6, 3)), 25_557_032, 4.089),
    "mobilenet_v2": (mobilenet_v2_specs, 3_504_872, 0.301),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_parameter_and_multiply_add_totals(name):
    build, params, gmacs = PUBLISHED[name]
    specs = build()
    assert shapes.param_count(specs) == params
    macs = shapes.flop_count(specs, unit="mac")
    assert round(macs / 1e9, 3) == gmacs
    assert shapes.flop_count(specs) == 2 * macs


def test_resnet_paper_multiply_adds():
    """He et al. 2016, Table 1: ResNet-50 "3.8 x 10^9 FLOPs" are multiply-adds (the paper's
    convention); the v1 model (stride on the first 1x1 of a bottleneck) gives 3.86e9 of them,
    torchvision's v1.5 (stride on the 3x3) 4.09e9."""
    macs = shapes.flop_count(resnet_specs("bottleneck", (3, 4, 6, 3)), unit="mac")
    assert 3.8e9 < macs < 4.1e9
