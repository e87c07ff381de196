"""course_lib.checks: every diagnosis the checks promise, the hint ladder, progress recording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import feedback
from course_lib.checks import reference as ref
from course_lib.checks.equivariance import reference_gap, reference_shift


@pytest.fixture(autouse=True)
def fresh_ladder(tmp_path, monkeypatch):
    """Each test gets its own progress store (where failure counts persist) and an empty in-memory ladder."""
    monkeypatch.delenv("COURSE_LIB_GRADING", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "progress.sqlite3"))
    monkeypatch.setattr(feedback, "ladder", feedback.HintLadder())
    yield


def diagnose(check, fn):
    """Run a check expected to fail; return (key, message)."""
    with pytest.raises(checks.CheckFailed) as info:
        check(fn)
    assert isinstance(info.value, AssertionError)
    return info.value.diagnosis.key, str(info.value)


# ---- conv1d ----

def good_conv1d(x, w, b=None, stride=1):
    return ref.conv1d(x, w, b, stride)


def test_conv1d_reference_passes(capsys):
    checks.check_conv1d(good_conv1d)
    assert "[conv1d] passed" in capsys.readouterr().out


def test_conv1d_np_convolve_is_diagnosed_as_flipped_kernel():
    def with_convolve(x, w, b=None, stride=1):
        y = np.stack([sum(np.convolve(x[c], w[o, c], mode="valid") for c in range(x.shape[0])) for o in range(w.shape[0])])
        return y[:, ::stride] + (b[:, None] if b is not None else 0)

    key, message = diagnose(checks.check_conv1d, with_convolve)
    assert key == "flipped_kernel"
    assert "cross-correlation" in message and "np.convolve" in message


@pytest.mark.parametrize("wrong, key, phrase", [
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, None, stride), "bias_forgotten", "without the bias"),
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, stride).T, "channels_wrong_axis", "channel axis is in the wrong place"),
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, 1), "stride_ignored", "stride is ignored"),
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, stride)[:, :-1], "off_by_one", "one position too few"),
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, stride)[0], "wrong_ndim", "dimensions"),
    (lambda x, w, b=None, stride=1: ref.conv1d(x, w, b * w.shape[1] * w.shape[2], stride), "bias_per_tap", "once per kernel tap"),
    (lambda x, w, b=None, stride=1: None, "returned_none", "return"),
])
def test_conv1d_mistakes_are_named(wrong, key, phrase):
    got_key, message = diagnose(checks.check_conv1d, wrong)
    assert got_key == key
    assert phrase in message


def test_conv1d_shape_message_gives_the_formula_with_numbers():
    _, message = diagnose(checks.check_conv1d, lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, stride)[:, :-1])
    assert "L_out = floor((L + 2*padding - K) / stride) + 1" in message
    assert "(8 + 0 - 3) // 1 + 1 = 6" in message


def test_conv1d_hard_coded_example_is_detected():
    example = ref.conv1d(np.arange(8.0)[None], np.array([[[1.0, 0.0, -1.0]]]), np.array([0.75]))

    def hard_coded(x, w, b=None, stride=1):
        return example.copy()

    key, message = diagnose(checks.check_conv1d, hard_coded)
    assert key == "hard_coded" and "hard-coded" in message


def test_conv1d_hard_coded_size_passes_example_only():
    def fixed_loop(x, w, b=None, stride=1):  # loops over 6 positions and 1 channel, like the example
        out = np.zeros((1, 6))
        for i in range(6):
            out[0, i] = np.sum(x[0, i:i + w.shape[2]] * w[0, 0]) + b[0]
        return out

    key, message = diagnose(checks.check_conv1d, fixed_loop)
    assert key == "wrong_channels"
    assert "expected" in message


def test_conv1d_exception_is_reported_with_the_line():
    def broken(x, w, b=None, stride=1):
        return x @ w

    key, message = diagnose(checks.check_conv1d, broken)
    assert key == "raised" and "return x @ w" in message


def test_not_implemented_and_not_callable():
    def stub(x, w, b=None, stride=1):
        raise NotImplementedError()

    assert diagnose(checks.check_conv1d, stub)[0] == "not_implemented"
    assert diagnose(checks.check_conv1d, np.zeros(3))[0] == "not_callable"
    # every check that calls learner code says the same thing about the release stub
    for check, fn in [(checks.check_conv1d, stub), (checks.check_output_size, lambda n, k, stride=1, padding=0: stub(0, 0)),
                      (checks.check_dense_params, lambda *a, **k: stub(0, 0))]:
        key, message = diagnose(check, fn)
        assert key == "not_implemented", (check.__name__, key, message)
        assert "replace the `raise NotImplementedError(...)` line in its cell" in message, message


def test_wrong_values_point_at_the_first_bad_entry():
    def off(x, w, b=None, stride=1):
        y = ref.conv1d(x, w, b, stride)
        y[0, -1] += 1.0
        return y

    key, message = diagnose(checks.check_conv1d, off)
    assert key == "wrong_values" and "first at index (0, 5)" in message


# ---- conv2d ----

def test_conv2d_diagnoses():
    good = lambda x, w, b=None, stride=1, padding=0: ref.conv2d(x, w, b, stride, padding)  # noqa: E731
    checks.check_conv2d(good)
    flipped = lambda x, w, b=None, stride=1, padding=0: ref.conv2d(x, w[..., ::-1, ::-1], b, stride, padding)  # noqa: E731
    assert diagnose(checks.check_conv2d, flipped)[0] == "flipped_kernel"
    no_pad = lambda x, w, b=None, stride=1, padding=0: ref.conv2d(x, w, b, stride, 0)  # noqa: E731
    key, message = diagnose(checks.check_conv2d, no_pad)
    assert key == "padding_ignored" and "padding=1" in message
    last = lambda x, w, b=None, stride=1, padding=0: np.moveaxis(ref.conv2d(x, w, b, stride, padding), 1, -1)  # noqa: E731
    assert diagnose(checks.check_conv2d, last)[0] == "channels_wrong_axis"
    nob = lambda x, w, b=None, stride=1, padding=0: ref.conv2d(x, w, None, stride, padding)  # noqa: E731
    assert diagnose(checks.check_conv2d, nob)[0] == "bias_forgotten"


# ---- output size ----

@pytest.mark.parametrize("wrong, key", [
    (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride, "forgot_plus_one"),
    (lambda n, k, stride=1, padding=0: n + 2 * padding - k + 1, "stride_ignored"),
    (lambda n, k, stride=1, padding=0: (n + padding - k) // stride + 1, "padding_one_side"),
    (lambda n, k, stride=1, padding=0: (n - k) // stride + 1, "padding_ignored"),
    (lambda n, k, stride=1, padding=0: math.ceil((n + 2 * padding - k) / stride) + 1, "ceil_instead_of_floor"),
    (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) / stride + 1, "true_division"),
    (lambda n, k, stride=1, padding=0: 9, "hard_coded"),
])
def test_output_size_mistakes(wrong, key):
    got, message = diagnose(checks.check_output_size, wrong)
    assert got == key, message
    assert "expected" in message.lower()


def test_output_size_float_that_is_always_whole_is_flagged():
    key, message = diagnose(checks.check_output_size, lambda n, k, stride=1, padding=0: float((n + 2 * padding - k) // stride + 1))
    assert key == "float_result" and "int" in message


def test_output_size_passes():
    checks.check_output_size(lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride + 1)


# ---- gradients and pooling ----

def test_max_pool_diagnoses():
    checks.check_max_pool2d(lambda x, k, stride=None: ref.max_pool2d(x, k, stride))
    avg = lambda x, k, stride=None: np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::(stride or k), ::(stride or k)].mean(axis=(4, 5))  # noqa: E731
    assert diagnose(checks.check_max_pool2d, avg)[0] == "average_pool"
    stride_one = lambda x, k, stride=None: ref.max_pool2d(x, k, 1)  # noqa: E731
    assert diagnose(checks.check_max_pool2d, stride_one)[0] == "stride_one"


def test_max_pool_backward_gradient_shape_and_routing():
    checks.check_max_pool2d_backward(lambda dy, x, k, stride=None: ref.max_pool2d_backward(dy, x, k, stride))
    key, message = diagnose(checks.check_max_pool2d_backward, lambda dy, x, k, stride=None: dy)
    assert key == "gradient_shape" and "shape of x" in message

    def spread(dy, x, k, stride=None):
        s = stride or k
        dx = np.zeros_like(x)
        for r in range(dy.shape[2]):
            for c in range(dy.shape[3]):
                dx[:, :, r * s:r * s + k, c * s:c * s + k] += dy[:, :, r:r + 1, c:c + 1] / (k * k)
        return dx

    assert diagnose(checks.check_max_pool2d_backward, spread)[0] == "gradient_averaged"


def good_backward(dy, x, w, stride=1, padding=0):
    return ref.conv2d_backward(dy, x, w, stride, padding)


def test_conv2d_backward_diagnoses():
    checks.check_conv2d_backward(good_backward)

    def swapped(dy, x, w, stride=1, padding=0):
        dx, dw, db = good_backward(dy, x, w, stride, padding)
        return dw, dx, db

    key, message = diagnose(checks.check_conv2d_backward, swapped)
    assert key in ("gradients_swapped", "gradient_shape") and "shape" in message

    def db_per_example(dy, x, w, stride=1, padding=0):
        dx, dw, _ = good_backward(dy, x, w, stride, padding)
        return dx, dw, dy.sum(axis=(2, 3))

    key, message = diagnose(checks.check_conv2d_backward, db_per_example)
    assert key in ("db_not_summed_over_batch", "db_wrong_sum")
    assert "db" in message

    def dw_flipped(dy, x, w, stride=1, padding=0):
        dx, dw, db = good_backward(dy, x, w, stride, padding)
        return dx, dw[..., ::-1, ::-1], db

    assert diagnose(checks.check_conv2d_backward, dw_flipped)[0] == "dw_flipped"

    assert diagnose(checks.check_conv2d_backward, lambda dy, x, w, stride=1, padding=0: (x, w))[0] == "not_a_triple"


def test_numerical_gradient_diagnoses():
    checks.check_numerical_gradient(lambda f, x, eps=1e-6: ref.numerical_gradient(f, x, eps))

    def over_eps(f, x, eps=1e-6):
        return 2 * ref.numerical_gradient(f, x, eps)

    assert diagnose(checks.check_numerical_gradient, over_eps)[0] == "divided_by_eps"

    def forward(f, x, eps=1e-6):
        g = np.zeros_like(x)
        base = f()
        for idx in np.ndindex(x.shape):
            old = x[idx]
            x[idx] = old + eps
            g[idx] = (f() - base) / eps
            x[idx] = old
        return g

    assert diagnose(checks.check_numerical_gradient, forward)[0] == "forward_difference"

    def no_restore(f, x, eps=1e-6):
        g = ref.numerical_gradient(f, x, eps)
        x += 1.0
        return g

    assert diagnose(checks.check_numerical_gradient, no_restore)[0] == "x_not_restored"


# ---- dense, locally connected, counts ----

def test_dense_forward_diagnoses():
    checks.check_dense_forward(lambda x, w, b: x @ w.T + b)
    assert diagnose(checks.check_dense_forward, lambda x, w, b: x @ w.T)[0] == "bias_forgotten"
    assert diagnose(checks.check_dense_forward, lambda x, w, b: (x @ w.T + b).T)[0] == "transposed_output"
    assert diagnose(checks.check_dense_forward, lambda x, w, b: np.maximum(x @ w.T + b, 0))[0] == "activation_applied"


def test_locally_connected_diagnoses():
    checks.check_locally_connected1d(lambda x, w, b=None, stride=1: ref.locally_connected1d(x, w, b, stride))
    shared = lambda x, w, b=None, stride=1: ref.locally_connected1d(x, np.broadcast_to(w[:1], w.shape), b, stride)  # noqa: E731
    key, message = diagnose(checks.check_locally_connected1d, shared)
    assert key == "weights_shared" and "different kernel" in message


def test_count_checks():
    checks.check_dense_params(lambda a, o, bias=True: a * o + (o if bias else 0))
    key, message = diagnose(checks.check_dense_params, lambda a, o, bias=True: a * o)
    assert key == "bias_forgotten" and "909" in message
    checks.check_conv_params(lambda ci, co, k, bias=True: co * ci * int(np.prod(k)) + (co if bias else 0))
    assert diagnose(checks.check_conv_params, lambda ci, co, k, bias=True: co * int(np.prod(k)) + co)[0] == "input_channels_ignored"
    assert diagnose(checks.check_conv_params, lambda ci, co, k, bias=True: 168)[0] == "hard_coded"
    checks.check_dense_flops(lambda a, o: 2 * a * o)
    assert diagnose(checks.check_dense_flops, lambda a, o: a * o)[0] == "macs_not_flops"
    checks.check_conv1d_flops(lambda ci, co, k, n, stride=1: 2 * ci * co * k * ((n - k) // stride + 1))
    assert diagnose(checks.check_conv1d_flops, lambda ci, co, k, n, stride=1: 2 * ci * co * k)[0] == "positions_forgotten"


def test_shift_and_equivariance_gap():
    checks.check_shift(reference_shift)
    assert diagnose(checks.check_shift, lambda x, s: np.roll(x, s, axis=-1))[0] == "wrapped_around"
    checks.check_equivariance_gap(reference_gap)

    def whole(layer, x, s):
        a = np.asarray(layer(reference_shift(x, s)))
        return float(np.max(np.abs(a - reference_shift(np.asarray(layer(x)), s))))

    assert diagnose(checks.check_equivariance_gap, whole)[0] == "border_included"


# ---- models ----

def test_ekgnet_check():
    import torch

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self, k1=20, s1=10, k2=5, sigmoid=True):
            super().__init__()
            self.c1, self.c2 = nn.Conv1d(1, 4, k1, stride=s1), nn.Conv1d(4, 4, k2)
            n = ((100 - k1) // s1 + 1) - k2 + 1
            self.head, self.sigmoid = nn.Linear(4 * n, 1), sigmoid

        def forward(self, x):
            h = self.head(torch.flatten(torch.relu(self.c2(torch.relu(self.c1(x)))), 1))
            return torch.sigmoid(h) if self.sigmoid else h

        def predict_proba(self, x):
            return torch.sigmoid(self(x))

    class NoProba(Net):
        predict_proba = None

    class WrongProba(Net):
        def predict_proba(self, x):
            return self(x).clamp(0, 1)

    checks.check_ekgnet(Net(sigmoid=False))  # the contract: forward returns logits
    key, message = diagnose(checks.check_ekgnet, Net(k1=10, s1=10, sigmoid=False))
    assert key == "layer1_spec" and "kernel_size=20, stride=10" in message
    assert diagnose(checks.check_ekgnet, Net(k2=3, sigmoid=False))[0] == "layer2_spec"
    key, message = diagnose(checks.check_ekgnet, Net(sigmoid=True))
    assert key == "sigmoid_in_forward" and "logit" in message
    assert diagnose(checks.check_ekgnet, NoProba(sigmoid=False))[0] == "no_predict_proba"
    assert diagnose(checks.check_ekgnet, WrongProba(sigmoid=False))[0] == "predict_proba"

    class RaisingProba(Net):
        def predict_proba(self, x):
            return torch.sigmoid(self(x) @ torch.ones(3, 3))   # a shape slip: (6, 1) @ (3, 3) raises

    key, message = diagnose(checks.check_ekgnet, RaisingProba(sigmoid=False))
    assert key == "predict_proba" and "raised" in message
    assert diagnose(checks.check_ekgnet, Net)[0] == "not_a_module"


def test_ekgnet_check_accepts_the_library_network():
    torch = pytest.importorskip("torch")
    from course_lib.nn.models import EKGNet

    torch.manual_seed(0)
    checks.check_ekgnet(EKGNet())


# ---- hashed numeric answers ----

def test_check_answer_hides_the_answer_and_knows_common_slips(capsys):
    digest = checks.answer_digest(909, "q")
    assert "909" not in digest
    checks.check_answer("q", 909, digest)
    assert "passed" in capsys.readouterr().out
    checks.check_answer("q", 909.0, digest)
    slip = {checks.answer_digest(900, "q"): ("Count the biases.",)}
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_answer("q", 900, digest, mistakes=slip)
    assert "Count the biases" in str(info.value) and info.value.diagnosis.key == "known_mistake"
    with pytest.raises(checks.CheckFailed):
        checks.check_answer("q", 901, digest, mistakes=slip)


def test_check_answer_forgives_float_noise_but_not_wrong_digits(capsys):
    # a right answer computed in floating point, a hair from an integer or from a rounding boundary
    checks.check_answer("params", 196_608_000.00000003, checks.answer_digest(196_608_000, "params"))
    checks.check_answer("params", np.float32(6.0000005), checks.answer_digest(6, "params"))
    boundary = checks.answer_digest(0.0125, "ratio")  # "0.013"
    checks.check_answer("ratio", 0.0125 - 1e-12, boundary)  # would print as 0.012 on its own
    assert capsys.readouterr().out.count("passed") == 3
    for wrong in (0.0141, 0.0115, 0.012):  # three decimals: 0.0125 <= x < 0.0135 all read "0.013"
        with pytest.raises(checks.CheckFailed, match="is not right"):
            checks.check_answer("ratio", wrong, boundary)
    with pytest.raises(checks.CheckFailed, match="is not right"):
        checks.check_answer("params", 6.01, checks.answer_digest(6, "params"))
    with pytest.raises(checks.CheckFailed, match="is not right"):  # big counts stay exact to float32 precision
        checks.check_answer("params", 196_608_100, checks.answer_digest(196_608_000, "params"))
    for bad in (float("nan"), float("inf"), 10**400):
        with pytest.raises(checks.CheckFailed, match="not a .*number"):
            checks.check_answer("params", bad, checks.answer_digest(6, "params"))


# ---- hint ladder ----

def flipped(x, w, b=None, stride=1):
    return ref.conv1d(x, w[..., ::-1], b, stride)


def test_hint_ladder_gets_stronger_with_repeated_failures():
    messages = []
    for _ in range(3):
        with pytest.raises(checks.CheckFailed) as info:
            checks.check_conv1d(flipped)
        messages.append((info.value.level, str(info.value)))
    (l1, m1), (l2, m2), (l3, m3) = messages
    assert (l1, l2, l3) == (1, 2, 3)
    assert "Hint" not in m1 and "2 more hints" in m1
    assert "Hint 1:" in m2 and "Hint 2:" not in m2
    assert "Hint 1:" in m3 and "Hint 2:" in m3 and "more hint" not in m3
    assert len(m1) < len(m2) < len(m3)


def test_hint_ladder_counts_per_check_id():
    with pytest.raises(checks.CheckFailed):
        checks.check_conv1d(flipped)
    with pytest.raises(checks.CheckFailed) as other:
        checks.check_dense_forward(lambda x, w, b: x @ w.T)
    assert other.value.level == 1
    assert feedback.ladder.count("conv1d") == 1 and feedback.ladder.count("dense_forward") == 1


def test_hint_ladder_is_persisted_across_processes(tmp_path):
    from course_lib import study

    with pytest.raises(checks.CheckFailed):
        checks.check_conv1d(flipped)
    with study.open_store() as store:
        assert store.check_failures("conv1d") == 1, "the failure is a row of the progress store, the one source"
    assert not list(tmp_path.glob("*.json")), "no separate hint file"
    feedback.ladder = feedback.HintLadder()  # a new kernel: empty memory, same store
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_conv1d(flipped)
    assert info.value.level == 2
    with study.open_store() as store:
        assert store.check_failures("conv1d") == 2


def test_hint_ladder_survives_an_unwritable_or_corrupt_state(tmp_path, monkeypatch):
    bad = tmp_path / "garbage.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(bad))
    ladder = feedback.HintLadder()
    with pytest.warns(UserWarning):   # the unreadable file is moved aside by the store, never used
        assert ladder.bump("x") == 1
    assert ladder.bump("x") == 2
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "missing-dir" / "file" / "x.sqlite3"))
    (tmp_path / "missing-dir").write_text("a file where a folder should be")
    ladder = feedback.HintLadder()
    assert ladder.bump("y") == 1 and ladder.count("y") == 1


def test_grading_mode_disables_persistence_and_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_GRADING", "1")
    ladder = feedback.HintLadder()
    assert ladder.bump("conv1d") == 1 and ladder.bump("conv1d") == 2, "counts still rise, in memory"
    assert feedback.record_progress("conv1d", True) is False
    assert not list(tmp_path.iterdir()), "grading reads and writes no progress file"


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_nbgrader_execution_is_grading_mode(mode, tmp_path, monkeypatch):
    """A kernel run by nbgrader (Formgrader's autograde, validate) sets NBGRADER_EXECUTION, not COURSE_LIB_GRADING."""
    from course_lib import study

    store = FakeStore()
    opened = []
    monkeypatch.setattr(study, "open_store", lambda *a, **k: opened.append(a) or store)
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert feedback.record_progress("conv1d", True) is False
    with pytest.raises(checks.CheckFailed):
        checks.check_conv1d(flipped)
    assert store.records == [] and opened == [], "no progress record or read under nbgrader"
    assert not list(tmp_path.iterdir()), "no hint or progress file under nbgrader"
    monkeypatch.setenv("NBGRADER_EXECUTION", "")
    assert feedback.record_progress("conv1d", True) is True, "an empty NBGRADER_EXECUTION is not grading"
    assert store.records == [("conv1d", True, "")]


# ---- progress store ----

class FakeStore:
    def __init__(self):
        self.records = []

    def record_check(self, check_id, passed, detail=""):
        self.records.append((check_id, passed, detail))

    def check_failures(self, check_id):
        return sum(1 for c, passed, _ in self.records if c == check_id and not passed)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True


def test_results_are_recorded_in_the_progress_store(monkeypatch):
    from course_lib import study
    store = FakeStore()
    monkeypatch.setattr(study, "open_store", lambda *a, **k: store)
    checks.check_conv1d(good_conv1d)
    with pytest.raises(checks.CheckFailed):
        checks.check_conv1d(flipped)
    assert store.records == [("conv1d", True, ""), ("conv1d", False, "flipped_kernel")]
    assert store.closed, "the store is closed after recording"


def test_a_broken_progress_store_never_breaks_a_check(monkeypatch, capsys):
    from course_lib import study

    def explode(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(study, "open_store", explode)
    checks.check_conv1d(good_conv1d)
    assert "passed" in capsys.readouterr().out


def test_real_progress_store_receives_checks(tmp_path, monkeypatch):
    from course_lib import study

    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "progress.sqlite3"))
    checks.check_dense_flops(lambda a, o: 2 * a * o)
    summary = study.open_store().check_summary()
    assert summary["dense_flops"]["passed"] is True
