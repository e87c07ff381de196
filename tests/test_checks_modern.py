"""course_lib.checks.modern: the references agree with torch, right answers pass, and every common
mistake with a depthwise-separable block, a transposed conv or batch norm gets its own diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib import checks
from course_lib.checks import feedback
from course_lib.checks.modern import reference_batch_norm2d, reference_conv_transpose2d


@pytest.fixture(autouse=True)
def fresh_ladder(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_LIB_GRADING", raising=False)
    monkeypatch.setenv("COURSE_LIB_CHECKS_STATE", str(tmp_path / "hints.json"))
    monkeypatch.setattr(feedback, "ladder", feedback.HintLadder())


def diagnose(check, fn):
    with pytest.raises(checks.CheckFailed) as info:
        check(fn)
    return info.value.diagnosis.key, str(info.value)


# ---- references against torch ----

@pytest.mark.parametrize("xs, ws, s, p, op", [((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1), ((1, 2, 3, 3), (2, 4, 4, 2), 3, 1, 2),
                                              ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, 0)])
def test_reference_conv_transpose2d_is_torchs(xs, ws, s, p, op):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    want = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=s, padding=p, output_padding=op).numpy()
    np.testing.assert_allclose(reference_conv_transpose2d(x, w, s, p, op), want, rtol=1e-10, atol=1e-12)


def test_reference_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((2, 3, 8, 7)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((4, 3, 3, 3)))
    y = F.conv2d(x, w, stride=2, padding=1)  # 8 -> 4, 7 -> 4: a transposed conv needs output_padding (1, 0) to get back
    dy = rng.standard_normal(tuple(y.shape))
    y.backward(torch.tensor(dy))
    full = reference_conv_transpose2d(dy, w.numpy(), 2, 1, 1)  # 8 x 8; the gradient is its first 7 columns
    np.testing.assert_allclose(full[:, :, :, :7], x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_reference_batch_norm2d_is_torchs(training):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3, 2, 5)) * 3 + 1
    gamma, beta, rm, rv = rng.uniform(0.5, 2, 3), rng.normal(size=3), rng.normal(size=3), rng.uniform(0.5, 2, 3)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    want = F.batch_norm(torch.tensor(x), trm, trv, torch.tensor(gamma), torch.tensor(beta), training=training, momentum=0.1, eps=1e-5)
    y, new_rm, new_rv = reference_batch_norm2d(x, gamma, beta, rm, rv, training, 0.1, 1e-5)
    np.testing.assert_allclose(y, want.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new_rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(new_rv, trv.numpy(), rtol=1e-12)
    if training:
        assert not np.allclose(new_rv, rv)


# ---- depthwise-separable block ----

def make_block(dw_out=None, dw_groups=None, pw_groups=1, stride_on="dw", bias=False, bn=True, inner_relu=True, order="dw_pw"):
    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride=1):
            super().__init__()
            out = c_in if dw_out is None else dw_out(c_in, c_out)
            groups = c_in if dw_groups is None else dw_groups(c_in, c_out)
            s_dw, s_pw = (stride, 1) if stride_on == "dw" else (1, stride)
            self.depthwise = nn.Conv2d(c_in, out, 3, stride=s_dw, padding=1, groups=groups, bias=bias)
            self.bn1 = nn.BatchNorm2d(out) if bn else nn.Identity()
            self.pointwise = nn.Conv2d(out, c_out, 1, stride=s_pw, groups=pw_groups(c_in) if callable(pw_groups) else pw_groups, bias=bias)
            self.bn2 = nn.BatchNorm2d(c_out) if bn else nn.Identity()
            if order == "pw_dw":  # registered first, so it comes first in modules()
                del self.depthwise, self.bn1, self.pointwise, self.bn2
                self.pointwise, self.bn1 = nn.Conv2d(c_in, c_in, 1, bias=False), nn.BatchNorm2d(c_in)
                self.depthwise, self.bn2 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)

        def forward(self, x):
            h = self.bn1(self.depthwise(x))
            h = F.relu(h) if inner_relu else h
            return F.relu(self.bn2(self.pointwise(h)))

    Block.__name__ = "DepthwiseSeparable"
    return Block


def test_depthwise_separable_reference_block_passes(capsys):
    checks.check_depthwise_separable(make_block())
    assert "[depthwise_separable] passed" in capsys.readouterr().out


@pytest.mark.parametrize("block, key, phrase", [
    (make_block(dw_groups=lambda ci, co: 1), "depthwise_groups_missing", "groups=1"),
    (make_block(dw_out=lambda ci, co: co), "depthwise_changes_channels", "makes 8 channels from 4"),
    (make_block(dw_groups=lambda ci, co: 1, pw_groups=lambda ci: ci), "groups_on_pointwise", "groups belongs on the 3x3 conv"),
    (make_block(dw_groups=lambda ci, co: co), "raised", "multiples of groups"),
    (make_block(stride_on="pw"), "stride_on_pointwise", "stride is on the 1x1 conv"),
    (make_block(bias=True), "bias_before_batchnorm", "bias=False"),
    (make_block(bn=False), "batchnorm_missing", "num_features []"),
    (make_block(inner_relu=False), "relu_missing", "without the ReLU"),
    (make_block(order="pw_dw"), "pointwise_first", "1x1 conv comes first"),
])
def test_depthwise_separable_mistakes_are_diagnosed(block, key, phrase):
    got_key, message = diagnose(checks.check_depthwise_separable, block)
    assert got_key == key, message
    assert phrase in message


def test_depthwise_separable_wants_the_class_and_catches_stubs():
    key, message = diagnose(checks.check_depthwise_separable, make_block()(4, 8))
    assert key == "not_a_class"

    class Stub(nn.Module):
        def __init__(self, c_in, c_out, stride=1):
            raise NotImplementedError("not answered yet")

    assert diagnose(checks.check_depthwise_separable, Stub)[0] == "not_implemented"


def test_depthwise_separable_forward_skipping_a_layer_is_wrong_values():
    base = make_block()

    class SkipsBn(base):
        def forward(self, x):
            return F.relu(self.bn2(self.pointwise(F.relu(self.depthwise(x)))))

    assert diagnose(checks.check_depthwise_separable, SkipsBn)[0] == "wrong_values"


# ---- transposed conv ----

def good_transpose(x, w, stride=1, padding=0, output_padding=0):
    return reference_conv_transpose2d(x, w, stride, padding, output_padding)


def test_conv_transpose2d_reference_passes(capsys):
    checks.check_conv_transpose2d(good_transpose)
    assert "[conv_transpose2d] passed" in capsys.readouterr().out


def test_conv_transpose2d_torch_itself_passes():
    checks.check_conv_transpose2d(lambda x, w, stride=1, padding=0, output_padding=0: F.conv_transpose2d(
        torch.tensor(x), torch.tensor(w), stride=stride, padding=padding, output_padding=output_padding))


def _op_twice(x, w, stride=1, padding=0, output_padding=0):
    y = reference_conv_transpose2d(x, w, stride, padding, output_padding)
    return np.pad(y, ((0, 0), (0, 0), (0, output_padding), (0, output_padding)))


def _op_front(x, w, stride=1, padding=0, output_padding=0):
    full = reference_conv_transpose2d(x, w, stride, 0, output_padding)
    h, wd = full.shape[2:]
    return full[:, :, padding - output_padding:h - padding - output_padding, padding - output_padding:wd - padding - output_padding]


@pytest.mark.parametrize("wrong, key, phrase", [
    (lambda x, w, stride=1, padding=0, output_padding=0: reference_conv_transpose2d(x, w, stride, padding, 0),
     "output_padding_ignored", "You left out output_padding=1"),
    (_op_twice, "output_padding_twice", "added on both sides"),
    (_op_front, "output_padding_front", "bottom and right"),
    (lambda x, w, stride=1, padding=0, output_padding=0: reference_conv_transpose2d(x, w[:, :, ::-1, ::-1], stride, padding, output_padding),
     "flipped_kernel", "rotated by 180 degrees"),
    (lambda x, w, stride=1, padding=0, output_padding=0: reference_conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride, padding, output_padding),
     "weight_layout", "(C_in, C_out, KH, KW)"),
    (lambda x, w, stride=1, padding=0, output_padding=0: reference_conv_transpose2d(x, w, stride, 0, output_padding),
     "padding_not_cropped", "did not crop padding=1"),
])
def test_conv_transpose2d_mistakes_are_diagnosed(wrong, key, phrase):
    got_key, message = diagnose(checks.check_conv_transpose2d, wrong)
    assert got_key == key, message
    assert phrase in message


# ---- batch norm ----

def good_bn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    y, rm, rv = reference_batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    running_mean[:] = rm
    running_var[:] = rv
    return y


def bn_variant(batch_in_eval=False, update=True, biased=False, rebind=False, reverse=False, eval_updates=False,
               axes=(0, 2, 3), ddof_norm=0, eps_outside=False, affine=True, running_in_train=False):
    def bn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        col = (lambda v: v[None, :, None, None]) if axes == (0, 2, 3) else (lambda v: v)
        mean = x.mean(axis=axes) if axes == (0, 2, 3) else x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, ddof=ddof_norm) if axes == (0, 2, 3) else x.var(axis=axes, keepdims=True)
        m = x.size // x.shape[1]
        if (training and not running_in_train) or batch_in_eval:
            use_mean, use_var = col(mean), col(var)
        else:
            use_mean, use_var = running_mean[None, :, None, None], running_var[None, :, None, None]
        if training or eval_updates:
            new_var = x.var(axis=(0, 2, 3)) * (1 if biased else m / (m - 1))
            new_mean = x.mean(axis=(0, 2, 3))
            a, b = (momentum, 1 - momentum) if reverse else (1 - momentum, momentum)
            if rebind:
                running_mean = a * running_mean + b * new_mean  # noqa: F841 - the classic bug: rebinding the local name
                running_var = a * running_var + b * new_var  # noqa: F841
            elif update:
                running_mean[:] = a * running_mean + b * new_mean
                running_var[:] = a * running_var + b * new_var
        denom = np.sqrt(use_var) + eps if eps_outside else np.sqrt(use_var + eps)
        xhat = (x - use_mean) / denom
        return xhat * gamma[None, :, None, None] + beta[None, :, None, None] if affine else xhat
    return bn


def test_batch_norm2d_reference_passes(capsys):
    checks.check_batch_norm2d(good_bn)
    assert "[batch_norm2d] passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, key, phrase", [
    (bn_variant(batch_in_eval=True), "batch_stats_in_eval", "in eval mode"),
    (bn_variant(update=False), "running_not_updated", "running_mean and running_var were not updated"),
    (bn_variant(rebind=True), "running_not_updated", "only rebinds your local name"),
    (bn_variant(biased=True), "running_var_biased", "unbiased"),
    (bn_variant(reverse=True), "momentum_reversed", "1 - momentum"),
    (bn_variant(eval_updates=True), "running_updated_in_eval", "only training updates them"),
    (bn_variant(axes=(2, 3)), "per_sample_statistics", "instance norm"),
    (bn_variant(ddof_norm=1), "unbiased_in_normalisation", "biased batch variance"),
    (bn_variant(eps_outside=True), "eps_outside_sqrt", "sqrt(var + eps)"),
    (bn_variant(affine=False), "gamma_beta_missing", "gamma and beta"),
    (bn_variant(running_in_train=True), "running_stats_in_training", "batch's own mean"),
])
def test_batch_norm2d_mistakes_are_diagnosed(wrong, key, phrase):
    got_key, message = diagnose(checks.check_batch_norm2d, wrong)
    assert got_key == key, message
    assert phrase in message


def test_batch_norm2d_running_var_only_not_updated_is_named():
    def bn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        y, rm, _ = reference_batch_norm2d(x, gamma, beta, running_mean, running_var, training, momentum, eps)
        running_mean[:] = rm
        return y

    key, message = diagnose(checks.check_batch_norm2d, bn)
    assert key == "running_not_updated" and "running_var was not updated" in message


def test_new_checks_are_exported():
    for name in ("check_depthwise_separable", "check_conv_transpose2d", "check_batch_norm2d"):
        assert name in checks.__all__ and callable(getattr(checks, name))


def test_release_stubs_are_diagnosed_as_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError("not answered yet")

    for check in (checks.check_conv_transpose2d, checks.check_batch_norm2d):
        key, message = diagnose(check, stub)
        assert key == "not_implemented", (check.__name__, key, message)
        assert "replace the `raise NotImplementedError(...)` line in its cell" in message
