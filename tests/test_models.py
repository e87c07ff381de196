"""Model shapes, parameter counts and EKGNet's receptive windows."""

import pytest
import torch
from torch import nn

from course_lib.nn import models
from course_lib.nn.models import DenseEKG, EKGNet, MnistCNN, MnistMLP, ResidualCNN, count_parameters


def test_all_is_defined_and_importable():
    for name in ("EKGNet", "DenseEKG", "MnistCNN", "MnistMLP", "ResidualCNN"):
        assert name in models.__all__


@pytest.mark.parametrize(
    "model, shape, out",
    [
        (EKGNet(), (4, 1, 100), (4,)),
        (DenseEKG(), (4, 1, 100), (4,)),
        (MnistCNN(), (3, 1, 28, 28), (3, 10)),
        (MnistCNN(hidden=0, batch_norm=False, dropout=0.0), (3, 1, 28, 28), (3, 10)),
        (MnistMLP(), (3, 1, 28, 28), (3, 10)),
        (ResidualCNN(), (3, 1, 28, 28), (3, 10)),
    ],
)
def test_output_shapes(model, shape, out):
    torch.manual_seed(0)
    model.eval()
    assert model(torch.randn(shape)).shape == out


def test_ekgnet_layers_follow_the_seed():
    net = EKGNet()
    h1, h2 = net.features(torch.randn(2, 1, 100))
    assert (net.conv1.kernel_size, net.conv1.stride) == ((20,), (10,))
    assert net.conv2.kernel_size == (5,)
    assert h1.shape == (2, 30, 9) and h2.shape == (2, 8, 5)
    assert net.layer1_windows()[:3] == [(1, 20), (11, 30), (21, 40)]
    assert net.layer1_windows()[-1] == (81, 100)
    assert net.layer2_windows() == [(1, 60), (11, 70), (21, 80), (31, 90), (41, 100)]


def test_ekgnet_parameter_count_formula_and_budget():
    for c1, c2 in ((30, 8), (16, 16), (4, 3)):
        net = EKGNet(c1, c2)
        assert count_parameters(net) == 21 * c1 + (5 * c1 + 1) * c2 + 5 * c2 + 1
    assert count_parameters(EKGNet()) == 1879 < 2000
    assert count_parameters(DenseEKG(hidden=32)) == 101 * 32 + 33


@pytest.mark.parametrize("unit", range(9))
def test_ekgnet_layer1_unit_sees_exactly_its_window(unit):
    """The gradient of layer-1 unit i w.r.t. the input is non-zero only on steps 10i+1..10i+20."""
    torch.manual_seed(unit)
    net = EKGNet()
    x = torch.randn(1, 1, 100, requires_grad=True)
    net.conv1(x)[0, 0, unit].backward()
    seen = (x.grad[0, 0] != 0).nonzero().squeeze(1) + 1  # 1-based time steps
    start, end = net.layer1_windows()[unit]
    assert seen.min().item() == start and seen.max().item() == end and len(seen) == 20


@pytest.mark.parametrize("unit", range(5))
def test_ekgnet_layer2_unit_sees_five_layer1_units(unit):
    torch.manual_seed(0)
    net = EKGNet()
    x = torch.randn(1, 1, 100, requires_grad=True)
    net.conv2(net.conv1(x))[0, 0, unit].backward()  # linear path: no ReLU zeroing any gradient
    seen = (x.grad[0, 0] != 0).nonzero().squeeze(1) + 1
    assert (seen.min().item(), seen.max().item()) == net.layer2_windows()[unit]


def test_ekgnet_sigmoid_output_is_a_probability():
    net = EKGNet()
    x = torch.randn(5, 1, 100)
    p = net.predict_proba(x)
    assert p.shape == (5,) and bool(((p > 0) & (p < 1)).all())
    torch.testing.assert_close(p, 1 / (1 + torch.exp(-net(x).detach())))


def test_mnist_cnn_skeleton_and_param_count():
    net = MnistCNN(hidden=0, batch_norm=False, dropout=0.0)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 32, (3, 3), (1, 1)),
        (32, 64, (3, 3), (1, 1)),
    ]
    a1, a2 = net.features(torch.randn(2, 1, 28, 28))
    assert a1.shape == (2, 32, 28, 28) and a2.shape == (2, 64, 28, 28)
    assert count_parameters(net) == (9 * 32 + 32) + (9 * 32 * 64 + 64) + (64 * 14 * 14 * 10 + 10)
    assert count_parameters(MnistCNN(batch_norm=False)) == 320 + 18496 + 12544 * 128 + 128 + 1290
    assert count_parameters(MnistCNN()) == count_parameters(MnistCNN(batch_norm=False)) + 2 * 32 + 2 * 64


def test_mnist_cnn_takes_a_conv_factory():
    made = []

    def factory(in_channels, out_channels, kernel_size, stride=1, padding=0):
        made.append((in_channels, out_channels, kernel_size, stride, padding))
        return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)

    net = MnistCNN(conv_factory=factory)
    assert made == [(1, 32, 3, 1, 1), (32, 64, 3, 1, 1)]
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_input_normalisation_uses_mnist_statistics():
    torch.manual_seed(0)
    raw = MnistCNN(normalize_input=False, batch_norm=False, dropout=0.0).eval()
    norm = MnistCNN(normalize_input=True, batch_norm=False, dropout=0.0).eval()
    norm.load_state_dict(raw.state_dict())
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(norm(x), raw((x - 0.1307) / 0.3081))


def test_residual_block_keeps_shape_and_adds_the_input():
    block = models.ResidualBlock(4).eval()
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.rand(2, 4, 6, 6)  # zero convs: the block reduces to relu(x) = x for x >= 0
    torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: EKGNet()(torch.randn(2, 100)), ValueError, r"x: expected shape \(N, 1, 100\), got \(2, 100\)"),
        (lambda: EKGNet()(torch.randn(2, 1, 99)), ValueError, r"got \(2, 1, 99\)"),
        (lambda: MnistCNN()(torch.randn(2, 1, 32, 32)), ValueError, r"expected shape \(N, 1, 28, 28\)"),
        (lambda: MnistMLP()([[0.0]]), TypeError, "x: expected a torch.Tensor, got list"),
        (lambda: EKGNet(channels1=0), ValueError, "EKGNet: channels1 must be an int >= 1; got 0"),
        (lambda: DenseEKG(hidden=2.5), TypeError, "DenseEKG: hidden must be an int >= 1; got float 2.5"),
        (lambda: MnistCNN(dropout=1.0), ValueError, "dropout: expected a probability"),
        (lambda: ResidualCNN(channels=-1), ValueError, "ResidualCNN: channels must be an int >= 1; got -1"),
    ],
)
def test_bad_inputs_name_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_mnist_cnn_trains_with_course_lib_conv2d():
    """Lesson 4 swaps in course_lib's own Conv2d (its backward is course_lib's); gradients must match torch's."""
    from course_lib.nn.layers import Conv2d

    torch.manual_seed(0)
    ours = MnistCNN(conv_factory=Conv2d, hidden=8, dropout=0.0).eval()
    ref = MnistCNN(hidden=8, dropout=0.0).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.rand(3, 1, 28, 28)
    out_ours, out_ref = ours(x), ref(x)
    torch.testing.assert_close(out_ours, out_ref, rtol=1e-4, atol=1e-5)
    out_ours.square().sum().backward()
    out_ref.square().sum().backward()
    torch.testing.assert_close(ours.conv2.weight.grad, ref.conv2.weight.grad, rtol=1e-3, atol=1e-5)
