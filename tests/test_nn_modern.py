"""course_lib.nn.modern: separable blocks, shortcuts, ModernCNN; and the numbers its flashcard quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from course_lib.nn.counting import layer_rows, mult_adds
from course_lib.nn.models import MnistCNN, count_parameters
from course_lib.nn.modern import ModernCNN, SeparableBlock, SeparableConv
from course_lib.study import load_decks

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("c_in, c_out, stride, size, expected", [(8, 16, 1, 10, 10), (8, 16, 2, 10, 5), (8, 8, 2, 7, 4)])
def test_separable_conv_shape_and_parameters(c_in, c_out, stride, size, expected):
    layer = SeparableConv(c_in, c_out, stride)
    out = layer(torch.randn(2, c_in, size, size))
    assert out.shape == (2, c_out, expected, expected)
    assert layer.depthwise.groups == c_in and layer.depthwise.weight.shape == (c_in, 1, 3, 3)
    conv_weights = 9 * c_in + c_in * c_out
    assert count_parameters(layer) == conv_weights + 2 * c_in + 2 * c_out   # + BN gamma and beta


def test_separable_conv_is_a_full_conv_with_rank_one_kernels():
    torch.manual_seed(0)
    layer = SeparableConv(4, 6).eval()
    with torch.no_grad():
        for bn in (layer.bn1, layer.bn2):   # make both BNs the identity so only the two convs remain
            bn.running_mean.zero_(); bn.running_var.fill_(1 - bn.eps)
        x = torch.randn(2, 4, 9, 9)
        depth = layer.depthwise.weight[:, 0]                            # (4, 3, 3)
        point = layer.pointwise.weight[:, :, 0, 0]                      # (6, 4)
        full = point[:, :, None, None] * depth[None]                    # (6, 4, 3, 3)
        inner = torch.relu(torch.nn.functional.conv2d(x, layer.depthwise.weight, padding=1, groups=4))
        assert torch.allclose(layer.pointwise(inner), layer(x), atol=1e-6)
        # without the ReLU between them the two steps are one conv with W[o, c] = P[o, c] * D[c]
        two_steps = torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, layer.depthwise.weight, padding=1, groups=4),
                                               layer.pointwise.weight)
        assert torch.allclose(two_steps, torch.nn.functional.conv2d(x, full, padding=1), atol=1e-5)


def test_block_uses_identity_or_projection_shortcut():
    same, wider, down = SeparableBlock(8, 8), SeparableBlock(8, 16), SeparableBlock(8, 8, stride=2)
    assert isinstance(same.shortcut, nn.Identity)
    for block in (wider, down):
        conv = block.shortcut[0]
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == block.body.depthwise.stride
    x = torch.randn(2, 8, 12, 12)
    assert same(x).shape == (2, 8, 12, 12) and wider(x).shape == (2, 16, 12, 12) and down(x).shape == (2, 8, 6, 6)
    assert (same(x) >= 0).all()   # ReLU after the addition


def test_identity_shortcut_adds_the_input():
    block = SeparableBlock(4, 4).eval()
    with torch.no_grad():
        block.body.bn2.weight.zero_()   # F(x) = 0: the block reduces to ReLU(x)
        block.body.bn2.bias.zero_()
        x = torch.randn(3, 4, 6, 6)
        assert torch.allclose(block(x), torch.relu(x))


def test_modern_cnn_output_and_budget_against_lesson_04():
    model = ModernCNN()
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert model.features(torch.randn(2, 1, 28, 28)).shape == (2, 96, 7, 7)
    cnn = MnistCNN()
    # the targets of the issue that added lesson 05: >= 10x fewer parameters, >= 5x fewer multiply-adds
    assert count_parameters(cnn) >= 10 * count_parameters(model)
    assert mult_adds(cnn) >= 5 * mult_adds(model)


def test_modern_cnn_card_numbers_are_the_models():
    card = {c.id: c for c in load_decks(ROOT / "flashcards")}["modern-modern-net-vs-lesson04"].back.replace("{,}", ",")
    ours, theirs = ModernCNN(), MnistCNN()
    assert f"{count_parameters(ours):,} vs {count_parameters(theirs):,}" in card
    assert f"{count_parameters(theirs) / count_parameters(ours):.0f}× fewer parameters" in card
    assert f"{mult_adds(theirs) / mult_adds(ours):.1f}× fewer multiply-adds" in card


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(widths=()), ValueError, "widths"), (dict(widths="abc"), ValueError, "widths"),
    (dict(widths=(8, 0)), ValueError, r"widths\[1\]"), (dict(widths=(8, True)), TypeError, r"widths\[1\]"),
    (dict(n_classes=0), ValueError, "n_classes"),
])
def test_modern_cnn_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ModernCNN(**kwargs)


@pytest.mark.parametrize("args, error, match", [((0, 4), ValueError, "c_in"), ((4, 2.5), TypeError, "c_out"),
                                                ((4, 4, 3), ValueError, "stride")])
def test_blocks_refuse_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        SeparableBlock(*args)


def test_modern_cnn_checks_its_input_shape():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ModernCNN()(torch.randn(2, 3, 28, 28))


def test_layer_rows_match_the_hand_count_of_lesson_04s_cnn():
    rows = layer_rows(MnistCNN())
    assert [r.name for r in rows] == ["conv1", "conv2", "head.1", "head.4"]
    assert [r.output_shape for r in rows] == [(32, 28, 28), (64, 28, 28), (128,), (10,)]
    assert [r.parameters for r in rows] == [32 * 9 + 32, 64 * 32 * 9 + 64, 12544 * 128 + 128, 128 * 10 + 10]
    assert mult_adds(MnistCNN()) == 28 * 28 * 32 * 9 + 28 * 28 * 64 * 32 * 9 + 12544 * 128 + 128 * 10


def test_layer_rows_count_groups_and_agree_with_torch_parameters():
    model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.Conv2d(8, 16, 1), nn.Flatten(),
                          nn.Linear(16 * 5 * 5, 3))
    rows = layer_rows(model, (2, 8, 5, 5))
    assert [r.mult_adds for r in rows] == [25 * 8 * 9, 25 * 16 * 8, 400 * 3]
    assert sum(r.parameters for r in rows) == count_parameters(model)


@pytest.mark.parametrize("model, shape, error", [(None, (1, 1, 28, 28), TypeError), (MnistCNN(), (1, 0, 28), ValueError),
                                                 (MnistCNN(), "28", ValueError), (MnistCNN(), (1, True), ValueError)])
def test_layer_rows_refuse_bad_arguments(model, shape, error):
    with pytest.raises(error, match="model|input_shape"):
        layer_rows(model, shape)
