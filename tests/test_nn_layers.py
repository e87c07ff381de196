"""course_lib.nn.layers: our Conv2d/Conv1d train exactly like torch's, with our own backward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import ops
from course_lib.nn import layers
from course_lib.nn.layers import Conv1d, Conv2d, ConvFunction, LocallyConnected1d


def twins(n_spatial, seed, *args, **kwargs):
    """Our layer and torch's, built from the same seed (hence the same initial weights)."""
    ours, theirs = (Conv1d, torch.nn.Conv1d) if n_spatial == 1 else (Conv2d, torch.nn.Conv2d)
    torch.manual_seed(seed)
    a = ours(*args, **kwargs)
    torch.manual_seed(seed)
    b = theirs(*args, **kwargs)
    return a, b


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's reference layer
@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(n_spatial=st.sampled_from([1, 2]), c_in=st.integers(1, 3), c_out=st.integers(1, 4),
       k=st.integers(1, 3), stride=st.integers(1, 2), dilation=st.integers(1, 2),
       padding=st.sampled_from([0, 1, "same", "valid"]), bias=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 10_000))
def test_conv_layers_match_torch_values_and_gradients(n_spatial, c_in, c_out, k, stride, dilation,
                                                       padding, bias, dtype, seed):
    if padding == "same":
        stride = 1
    ours, theirs = twins(n_spatial, seed, c_in, c_out, k, stride=stride, padding=padding,
                         dilation=dilation, bias=bias, dtype=dtype)
    assert torch.equal(ours.weight, theirs.weight)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c_in, *(7,) * n_spatial, generator=gen, dtype=dtype)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ya, yb, **tol)
    dy = torch.randn(yb.shape, generator=gen, dtype=dtype)
    ya.backward(dy)
    yb.backward(dy)
    torch.testing.assert_close(xa.grad, xb.grad, **tol)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, **tol)
    if bias:
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, **tol)
    else:
        assert ours.bias is None


def test_backward_really_is_ours(monkeypatch):
    """The gradient must come from course_lib.ops.conv2d_backward, not from PyTorch's autograd."""
    calls = []
    real = ops.conv2d_backward

    def spy(*args, **kwargs):
        calls.append(kwargs.get("backend"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ops, "conv2d_backward", spy)
    layer = Conv2d(2, 3, 3, padding=1)
    layer(torch.randn(1, 2, 5, 5, requires_grad=True)).sum().backward()
    assert calls == ["torch"]
    # and a deliberately wrong backward would show up in the gradients
    monkeypatch.setattr(ops, "conv2d_backward", lambda dy, x, w, *a, **k: (x * 0, w * 0 + 1, None))
    layer.zero_grad()
    layer(torch.randn(1, 2, 5, 5)).sum().backward()
    assert torch.all(layer.weight.grad == 1)


def test_training_steps_follow_torch_exactly():
    """A few SGD steps on a small conv net: our layer and torch's end with the same weights."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 1, 12, 12, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 3, (16,), generator=gen)
    nets = []
    for conv in (Conv2d, torch.nn.Conv2d):
        torch.manual_seed(1)
        net = torch.nn.Sequential(conv(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  conv(4, 6, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(),
                                  torch.nn.Linear(6 * 2 * 2, 3)).double()
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(5):
            opt.zero_grad()
            F.cross_entropy(net(x), target).backward()
            opt.step()
        nets.append(net)
    for p_ours, p_torch in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(p_ours, p_torch, rtol=1e-9, atol=1e-10)


def test_conv_function_passes_gradcheck():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: ConvFunction.apply(x, w, b, (2, 1), ((1, 0), (0, 2)), 1),
                                    (x, w, b))


# ------------------------------------------------------------------------- locally connected
def test_locally_connected_layer_shapes_values_and_gradients():
    torch.manual_seed(0)
    layer = LocallyConnected1d(2, 3, input_length=11, kernel_size=4, stride=2).double()
    assert layer.output_length == 4
    assert layer.weight.shape == (4, 3, 2, 4) and layer.bias.shape == (3, 4)
    x = torch.randn(5, 2, 11, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    assert y.shape == (5, 3, 4)
    # explicit reference: position i = its own Conv1d on its own slice
    ref = torch.cat([F.conv1d(x[:, :, 2 * i:2 * i + 4], layer.weight[i]) for i in range(4)], dim=2) + layer.bias
    torch.testing.assert_close(y, ref)
    assert torch.autograd.gradcheck(lambda x, w, b: layers.LocallyConnected1dFunction.apply(x, w, b, 2),
                                    (x, layer.weight, layer.bias))


def test_locally_connected_is_not_translation_equivariant_but_conv_is():
    torch.manual_seed(0)
    lc = LocallyConnected1d(1, 1, input_length=12, kernel_size=3)
    conv = Conv1d(1, 1, 3)
    x = torch.zeros(1, 1, 12)
    x[0, 0, 3] = 1.0
    shifted = torch.roll(x, 4, dims=2)
    with torch.no_grad():
        torch.testing.assert_close(torch.roll(conv(x), 4, dims=2)[..., 4:], conv(shifted)[..., 4:])
        assert not torch.allclose(torch.roll(lc(x), 4, dims=2)[..., 4:], lc(shifted)[..., 4:])


def test_layer_argument_errors():
    with pytest.raises(ValueError, match=r"LocallyConnected1d: x has shape \(2, 3, 10\); expected \(N, 2, 11\)"):
        LocallyConnected1d(2, 3, input_length=11, kernel_size=4)(torch.zeros(2, 3, 10))
    with pytest.raises(ValueError, match=r"kernel_size=12 is larger than input_length=11"):
        LocallyConnected1d(2, 3, input_length=11, kernel_size=12)
    with pytest.raises(ValueError, match=r"Conv2d: in_channels must be an int >= 1; got 0"):
        Conv2d(0, 3, 3)
    with pytest.raises(TypeError, match=r"Conv2d: kernel_size must be an int or a tuple of 2 ints; got \(3, 3, 3\)"):
        Conv2d(1, 3, (3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: w has 1 input channels but x has 2"):
        Conv2d(1, 3, 3)(torch.zeros(1, 2, 5, 5))


def test_all_is_defined():
    assert set(layers.__all__) >= {"Conv1d", "Conv2d", "LocallyConnected1d"}
    for name in layers.__all__:
        assert hasattr(layers, name)


@pytest.mark.parametrize("backend", ["numpy", "loops"])
def test_conv2d_layer_can_train_on_the_other_backends(backend):
    """backend="numpy"/"loops": forward and backward computed by that backend, on tensors."""
    ours, theirs = twins(2, 7, 2, 3, 3, stride=2, padding=1, dtype=torch.float64)
    ours.backend = backend
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb)
    ya.square().sum().backward()
    yb.square().sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad)
    torch.testing.assert_close(ours.bias.grad, theirs.bias.grad)
    with pytest.raises(ValueError, match=r"Conv2d: backend must be one of .*got 'gpu'"):
        Conv2d(1, 1, 3, backend="gpu")
