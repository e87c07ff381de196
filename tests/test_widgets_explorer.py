"""ConvExplorer driven from Python: setting controls changes the maths, the text and the figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_lib.widgets.conv_explorer import ACTIVATIONS, ConvExplorer, kernel_bank  # noqa: E402


def _torch_maps(explorer: ConvExplorer) -> np.ndarray:
    """What PyTorch computes for the explorer's current settings (independent reference)."""
    x = torch.tensor(explorer.data, dtype=torch.float64)[None, None]
    before, after = explorer.pads
    k = explorer.kernel.value
    if explorer.ndim == 2:
        x = F.pad(x, (before, after, before, after))
        w = torch.tensor(kernel_bank(k, explorer.filters.value, 2))[:, None]
        y = F.conv2d(x, w, stride=explorer.stride.value, dilation=explorer.dilation.value)
    else:
        x = F.pad(x, (before, after))
        w = torch.tensor(kernel_bank(k, explorer.filters.value, 1))[:, None]
        y = F.conv1d(x, w, stride=explorer.stride.value, dilation=explorer.dilation.value)
    return ACTIVATIONS[explorer.activation.value](y[0].numpy())


def test_starts_drawn_with_formula_numbers():
    ex = ConvExplorer()
    assert ex.redraws == 1 and ex.png.startswith(b"\x89PNG")
    assert "⌊(12 + 0 + 0 − 1·(3 − 1) − 1) / 1⌋ + 1 = <b>10</b>" in ex.formula.value
    assert ex.feature_maps.shape == (2, 10, 10)
    np.testing.assert_allclose(ex.feature_maps, _torch_maps(ex), atol=1e-10)


@pytest.mark.parametrize(
    "settings, shape, text",
    [
        ({"kernel": 5}, (2, 8, 8), "= <b>8</b>"),
        ({"stride": 2}, (2, 5, 5), "/ 2⌋ + 1 = <b>5</b>"),
        ({"padding": "same", "kernel": 5}, (2, 12, 12), "(12 + 2 + 2 − 1·(5 − 1) − 1)"),
        ({"padding": 2}, (2, 14, 14), "= <b>14</b>"),
        ({"dilation": 3}, (2, 6, 6), "3·(3 − 1) + 1 = 7 × 7 cells"),
        ({"filters": 4}, (4, 10, 10), "4 × (3·3·1 + 1) = <b>40</b>"),
        ({"kernel": 4, "padding": "same"}, (2, 12, 12), "(12 + 1 + 2 −"),
    ],
)
def test_setting_a_control_redraws_with_new_numbers(settings, shape, text):
    ex = ConvExplorer()
    before_png, before_text, before_draws = ex.png, ex.formula.value, ex.redraws
    for name, value in settings.items():
        getattr(ex, name).value = value
    assert ex.redraws > before_draws
    assert ex.feature_maps.shape == shape
    assert text in ex.formula.value and ex.formula.value != before_text
    assert ex.png != before_png
    np.testing.assert_allclose(ex.feature_maps, _torch_maps(ex), atol=1e-10)


@pytest.mark.parametrize("activation", ["none", "sigmoid", "tanh"])
def test_activation_changes_values_not_shape(activation):
    ex = ConvExplorer(activation="relu")
    relu = ex.feature_maps.copy()
    ex.activation.value = activation
    assert ex.feature_maps.shape == relu.shape and not np.allclose(ex.feature_maps, relu)
    np.testing.assert_allclose(ex.feature_maps, _torch_maps(ex), atol=1e-10)


def test_position_moves_the_window_and_text():
    ex = ConvExplorer(stride=2)
    assert "unit (0, 0) reads rows 0..2, cols 0..2" in ex.formula.value
    ex.position.value = 5 * 1 + 3   # row 1, col 3 of a 5×5 output
    assert "unit (1, 3) reads rows 2..4, cols 6..8" in ex.formula.value
    assert "Output (1,3)" in " ".join(ax.get_title() for ax in ex.figure.axes) or \
        "unit (1, 3)" in ex.figure.axes[0].get_title()


def test_position_slider_range_follows_output_size():
    ex = ConvExplorer()
    assert ex.position.max == 10 * 10 - 1
    ex.position.value = 99
    ex.stride.value = 3   # output 4×4 → last unit is 15, the position is clamped
    assert ex.position.max == 15 and ex.position.value == 15


def test_stride_larger_than_window_warns_about_skipped_inputs():
    ex = ConvExplorer(kernel_size=2)
    assert "Warning" not in ex.formula.value
    ex.stride.value = 4
    assert "stride 4 skips 6 of the 12 input steps" in ex.formula.value
    assert ex.unread_inputs() == 6


def test_window_that_does_not_fit_reports_instead_of_crashing():
    ex = ConvExplorer(kernel_size=7)
    ex.dilation.value = 3
    assert ex.feature_maps is None
    assert "No output" in ex.formula.value and "(no position fits)" in ex.formula.value
    ex.dilation.value = 1
    assert ex.feature_maps.shape == (2, 6, 6)


def test_one_dimensional_signal_mode():
    signal = np.sin(np.arange(40) / 3.0)
    ex = ConvExplorer(signal, kernel_size=5, n_filters=3, stride=2, padding="same", dilation=2)
    assert ex.feature_maps.shape == (3, 20)
    assert "3 × (5·1 + 1) = <b>18</b>" in ex.formula.value
    np.testing.assert_allclose(ex.feature_maps, _torch_maps(ex), atol=1e-10)
    old = ex.png
    ex.kernel.value = 9
    assert ex.png != old and ex.feature_maps.shape == (3, 20)
    assert "stride 2 skips" in ex.formula.value  # dilation 2 + stride 2: odd steps never read


def test_repr_is_short_and_deterministic():
    ex = ConvExplorer()
    assert repr(ex) == ("ConvExplorer(kernel_size=3, n_filters=2, stride=1, padding='valid', dilation=1, "
                        "activation='relu', position=0)")
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == repr(ex)
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"data": np.zeros((4, 5))}, "data: expected a square image"),
        ({"data": np.zeros((2, 2, 2))}, r"data: expected a 1D signal \(L,\) or a 2D image"),
        ({"activation": "gelu"}, "activation: expected one of"),
        ({"padding": "full"}, "padding: expected one of"),
        ({"kernel_size": 9}, r"ConvExplorer: kernel_size must be an int in 1..7; got 9"),
        ({"stride": 0}, r"ConvExplorer: stride must be an int in 1..4; got 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvExplorer(**kwargs)


def test_set_changes_several_controls_with_one_redraw():
    ex = ConvExplorer()
    draws = ex.redraws
    returned = ex.set(kernel_size=5, stride=2, padding=2, position=7)
    assert returned is ex and ex.redraws == draws + 1
    assert (ex.kernel.value, ex.stride.value, ex.padding.value, ex.position.value) == (5, 2, 2, 7)
    assert ex.feature_maps.shape == (2, 6, 6)
    assert "unit (1, 1) reads rows 0..4, cols 0..4" in ex.formula.value
    np.testing.assert_allclose(ex.feature_maps, _torch_maps(ex), atol=1e-10)


def test_set_rejects_unknown_names():
    with pytest.raises(TypeError, match=r"set: unknown setting\(s\) \['kernal'\]"):
        ConvExplorer().set(kernal=3)


def test_one_dimensional_mode_allows_ekg_sized_windows():
    ex = ConvExplorer(np.sin(np.arange(100) / 4.0), kernel_size=20, stride=10, n_filters=1)
    assert ex.feature_maps.shape == (1, 9)
    ex.position.value = 3
    assert "unit 3 reads steps 30..49" in ex.formula.value
    ex.stride.value = 25
    assert "stride 25 skips 20 of the 100 input steps" in ex.formula.value


def test_figure_is_shown_in_the_image_widget():
    ex = ConvExplorer()
    assert ex.image.value == ex.png and ex.image in ex.output.children
    ex.kernel.value = 4
    assert ex.image.value == ex.png and ex.png.startswith(b"\x89PNG")


def test_feature_map_axes_count_whole_units():
    explorer = ConvExplorer(kernel_size=4, n_filters=2, stride=2, padding=2)
    maps = [ax for ax in explorer.figure.axes if ax.get_title().startswith("feature map")]
    assert len(maps) == 2
    for ax in maps:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    one_d = ConvExplorer(np.sin(np.arange(40) / 3.0), kernel_size=5, stride=2)
    unit_axis = [ax for ax in one_d.figure.axes if ax.get_xlabel() == "output unit"][0]
    assert all(float(t).is_integer() for t in unit_axis.get_xticks())
