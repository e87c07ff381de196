"""viz.conv: figures carry titles/labels, highlight the right cells, and reject bad input by name."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz import conv as vc  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _orange_cells(ax):
    """(x, y) lower-left corners of the orange window patches drawn on ax."""
    out = []
    for patch in ax.patches:
        if hasattr(patch, "get_xy") and patch.get_facecolor()[:3] == matplotlib.colors.to_rgb(vc.WINDOW_COLOR) \
                and patch.get_width() == 1:
            out.append(tuple(np.round(patch.get_xy(), 3)))
    return out


def test_unit_input_spans_ekg_matches_lesson_numbers():
    spans = vc.unit_input_spans(100, [(20, 10), (5, 1)])
    first = [(s.start + 1, s.stop) for s in spans[0]]
    assert first[:3] == [(1, 20), (11, 30), (21, 40)] and first[-1] == (81, 100) and len(first) == 9
    assert [(s.start + 1, s.stop) for s in spans[1]] == [(1, 60), (11, 70), (21, 80), (31, 90), (41, 100)]


def test_unit_input_spans_agree_with_gradient_support():
    layers = [(3, 2, 2), (4, 1, 1), (2, 3, 1)]
    spans = vc.unit_input_spans(64, layers)
    x = torch.ones(1, 1, 64, requires_grad=True)
    h = x
    for k, s, d in layers:
        conv = torch.nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False)
        torch.nn.init.constant_(conv.weight, 1.0)
        h = conv(h)
    assert h.shape[-1] == len(spans[-1])
    for unit in (0, len(spans[-1]) - 1):
        x.grad = None
        h[0, 0, unit].backward(retain_graph=True)
        seen = (x.grad[0, 0] != 0).nonzero().flatten()
        assert (int(seen.min()), int(seen.max()) + 1) == (spans[-1][unit].start, spans[-1][unit].stop)


def test_sliding_window_2d_marks_the_taps_of_the_chosen_unit():
    fig = vc.plot_sliding_window_2d(np.zeros((6, 6)), 3, stride=2, padding=1, dilation=1, position=(1, 2))
    ax = fig.axes[0]
    cells = sorted(_orange_cells(ax))
    # unit (1, 2) with stride 2 and one zero of padding starts at row 1, col 3 of the image
    rows = sorted({y + 0.5 for x, y in cells})
    cols = sorted({x + 0.5 for x, y in cells})
    assert rows == [1, 2, 3] and cols == [3, 4, 5]
    assert "rows 1..3" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_sliding_window_2d_dilation_spreads_the_taps():
    fig = vc.plot_sliding_window_2d(np.zeros((9, 9)), 3, dilation=3, position=(0, 0))
    cols = sorted({x + 0.5 for x, y in _orange_cells(fig.axes[0])})
    assert cols == [0, 3, 6]


def test_sliding_window_1d_title_and_labels():
    fig = vc.plot_sliding_window_1d(np.arange(20.0), 5, stride=3, position=2)
    ax = fig.axes[0]
    assert "steps 6..10" in ax.get_title()
    assert ax.get_xlabel() and ax.get_ylabel()


def test_position_outside_output_is_rejected_with_bounds():
    with pytest.raises(ValueError, match=r"position: expected 0 <= position < 4, got 4"):
        vc.plot_sliding_window_1d(np.zeros(10), 3, stride=2, position=4)


def test_kernels_2d_one_panel_per_filter_and_greyscale():
    w = torch.randn(6, 2, 3, 3)
    fig = vc.plot_kernels_2d(w, channel=1, ncols=4)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 6
    assert images[0].get_cmap().name == "gray"
    np.testing.assert_allclose(images[3].get_array(), w[3, 1].numpy(), rtol=1e-6)
    assert fig._suptitle is not None


def test_feature_maps_with_input_panel():
    maps = np.random.default_rng(0).random((1, 3, 5, 5))
    fig = vc.plot_feature_maps(maps, image=np.ones((1, 7, 7)))
    titled = [ax.get_title() for ax in fig.axes if ax.images]
    assert titled == ["input", "map 0", "map 1", "map 2"]
    assert fig.axes[1].images[0].get_cmap().name == "viridis"


def test_param_counts_bars_hatched_and_labelled():
    fig = vc.plot_param_counts({"dense": 196_608_000, "conv": 896})
    ax = fig.axes[0]
    hatches = [bar.get_hatch() for bar in ax.patches]
    assert len(hatches) == 2 and hatches[0] != hatches[1] and all(hatches)
    texts = [t.get_text() for t in ax.texts]
    assert "196,608,000" in texts and "896" in texts
    assert ax.get_yscale() == "log" and ax.get_ylabel() and ax.get_title()


def test_unit_coverage_one_bar_per_unit():
    fig = vc.plot_unit_coverage(100, [(20, 10), (5, 1)], signal=np.zeros(100))
    ax = fig.axes[-1]
    assert len(ax.patches) == 14
    assert "81–100" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel() == "input time step (1-based)"


def test_filter_responses_checks_output_length():
    with pytest.raises(ValueError, match=r"responses: expected L_out = .* = 9, got 8"):
        vc.plot_filter_responses_1d(np.zeros(100), np.zeros((2, 8)), kernel_size=20, stride=10)
    fig = vc.plot_filter_responses_1d(np.zeros(100), np.zeros((2, 9)), kernel_size=20, stride=10)
    assert len(fig.axes[1].lines) == 2


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: vc.plot_kernels_2d(np.zeros((3, 3))), ValueError, "weights: expected shape"),
        (lambda: vc.plot_kernels_1d(np.zeros((2, 1, 3)), channel=1), ValueError, "channel: expected"),
        (lambda: vc.plot_images(np.zeros((2, 4, 4)), titles=["a"]), ValueError, "titles: expected 2"),
        (lambda: vc.plot_param_counts({}), ValueError, "counts: expected a non-empty"),
        (lambda: vc.plot_param_counts({"a": -1}), ValueError, r"counts\['a'\]"),
        (lambda: vc.unit_input_spans(10, [(20, 1)]), ValueError, r"layers\[0\]: window of 20"),
        (lambda: vc.unit_input_spans(10, [(3, 0)]), ValueError, "stride"),
        (lambda: vc.plot_sliding_window_2d(np.zeros(5), 3), ValueError, r"image: expected shape \(H, W\)"),
        (lambda: vc.plot_sliding_window_1d(np.zeros(5), 3, padding="full"), ValueError, "padding must be an int, a tuple of 1 ints, 'valid' or 'same'; got 'full'"),
        (lambda: vc.plot_sliding_window_1d(np.zeros(5), 2.5), TypeError, "kernel_size must be an int >= 1; got float 2.5"),
        (lambda: vc.plot_images("abc"), TypeError, "images: expected an array"),
    ],
)
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_figure_png_renders_and_closes():
    fig = vc.plot_param_counts({"a": 3, "b": 40})
    png = vc.figure_png(fig)
    assert png.startswith(b"\x89PNG") and not plt.fignum_exists(fig.number)
    with pytest.raises(TypeError, match="fig: expected a matplotlib Figure"):
        vc.figure_png("not a figure")


def test_kernels_1d_one_line_per_filter_with_distinct_styles():
    w = np.arange(12.0).reshape(3, 1, 4)
    fig = vc.plot_kernels_1d(w)
    ax = fig.axes[0]
    lines = [line for line in ax.lines if len(line.get_xdata()) == 4]
    assert len(lines) == 3 and len({line.get_linestyle() for line in lines}) == 3
    np.testing.assert_allclose(lines[2].get_ydata(), w[2, 0])
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_images_titles_in_order():
    fig = vc.plot_images(np.zeros((3, 1, 5, 5)), titles=["a", "b", "c"], suptitle="row")
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["a", "b", "c"]
    assert fig._suptitle.get_text() == "row"
