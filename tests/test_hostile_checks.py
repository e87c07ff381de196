"""Hostile learner outputs for the self-checks (issue 14, class 3): every check is fed a correct
solution whose output was turned into something that cannot become a real numpy array (meta,
bfloat16 or sparse tensors, complex numbers, objects whose ``__array__`` raises), or a function
that raises an exception whose ``str()`` raises. Each must fail with a diagnosis (CheckFailed),
never pass and never crash with torch's or numpy's error."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import checks
from course_lib.checks import CheckFailed
from course_lib.checks import reference as ref
from course_lib.checks.equivariance import reference_shift


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    """No hint files and no progress records: each check's result only."""
    monkeypatch.setenv("COURSE_LIB_GRADING", "1")


def _dense(x, w, b=None):
    return ref.dense(x, w, b)


def _gap(layer, x, s):
    a = np.asarray(layer(reference_shift(x, s)))
    b = reference_shift(np.asarray(layer(x)), s)
    return float(np.max(np.abs(a[..., s:] - b[..., s:])))


# check -> a correct solution (array outputs)
ARRAY_CHECKS = {
    "conv1d": (checks.check_conv1d, lambda x, w, b=None, stride=1: ref.conv1d(x, w, b, stride)),
    "conv2d": (checks.check_conv2d, lambda x, w, b=None, stride=1, padding=0: ref.conv2d(x, w, b, stride, padding)),
    "locally_connected1d": (checks.check_locally_connected1d, lambda x, w, b=None, stride=1: ref.locally_connected1d(x, w, b, stride)),
    "dense_forward": (checks.check_dense_forward, _dense),
    "shift": (checks.check_shift, reference_shift),
    "max_pool2d": (checks.check_max_pool2d, lambda x, k, stride=None: ref.max_pool2d(x, k, stride)),
    "max_pool2d_backward": (checks.check_max_pool2d_backward, lambda dy, x, k, stride=None: ref.max_pool2d_backward(dy, x, k, stride)),
    "numerical_gradient": (checks.check_numerical_gradient, lambda f, x, eps=1e-6: ref.numerical_gradient(f, x, eps)),
    "conv2d_backward": (checks.check_conv2d_backward, lambda dy, x, w, stride=1, padding=0: ref.conv2d_backward(dy, x, w, stride, padding)),
}


class ArrayRaises:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")


class StrRaises(Exception):
    def __str__(self):
        raise ValueError("cannot print this error")

    def __repr__(self):
        raise ValueError("nor repr it")


def _tensor(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


SPOILERS = {  # correct output -> something the check must refuse
    "plus 1j": lambda a: np.asarray(a) + 1j,
    "complex tensor": lambda a: _tensor(a).to(torch.complex128),
    "complex with zero imaginary part": lambda a: np.asarray(a).astype(np.complex128),
    "meta tensor": lambda a: _tensor(a).to("meta"),
    "bfloat16 tensor": lambda a: _tensor(a).to(torch.bfloat16),
    "float16 tensor": lambda a: _tensor(a).to(torch.float16),
    "sparse tensor": lambda a: _tensor(a).to_sparse(),
    "__array__ raises": lambda a: ArrayRaises(),
    "list of strings": lambda a: np.asarray(a).astype(str).tolist(),
    "booleans": lambda a: np.asarray(a) > 0,
    "object array with None": lambda a: np.array([None, 1.0], dtype=object),
    "ragged list": lambda a: [[1.0], [1.0, 2.0]],
    "dict": lambda a: {"y": a},
    "set": lambda a: {1.0},
    "generator": lambda a: (v for v in [1.0]),
}


def _spoil(fn, spoil, name):
    def spoiled(*args, **kwargs):
        out = fn(*args, **kwargs)
        if name == "conv2d_backward":
            return tuple(spoil(o) for o in out)
        return spoil(out)

    return spoiled


CASES = [(c, s) for c in ARRAY_CHECKS for s in SPOILERS]


@pytest.mark.parametrize("check_name, spoiler", CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_outputs_that_are_not_real_arrays_are_diagnosed(check_name, spoiler, capsys):
    check, good = ARRAY_CHECKS[check_name]
    with pytest.raises(CheckFailed) as info:
        check(_spoil(good, SPOILERS[spoiler], check_name))
    assert "passed" not in capsys.readouterr().out
    message = str(info.value)
    assert "Traceback" not in message and message.startswith(f"[{check_name}]")


@pytest.mark.parametrize("check_name", list(ARRAY_CHECKS))
def test_the_unspoiled_solutions_pass(check_name, capsys):
    """Control: the spoilers above are what makes those checks fail."""
    check, good = ARRAY_CHECKS[check_name]
    check(good)
    assert "passed" in capsys.readouterr().out


def test_a_complex_right_answer_plus_1j_is_named_complex():
    check, good = ARRAY_CHECKS["conv1d"]
    with pytest.raises(CheckFailed, match="complex numbers") as info:
        check(_spoil(good, SPOILERS["plus 1j"], "conv1d"))
    assert info.value.diagnosis.key == "not_numeric"


@pytest.mark.parametrize("spoiler, phrase", [("meta tensor", "meta device"), ("bfloat16 tensor", "bfloat16"),
                                             ("sparse tensor", "sparse"), ("__array__ raises", "no array for you")])
def test_the_message_says_what_was_returned(spoiler, phrase):
    check, good = ARRAY_CHECKS["conv2d"]
    with pytest.raises(CheckFailed, match=phrase):
        check(_spoil(good, SPOILERS[spoiler], "conv2d"))


ALL_FUNCTION_CHECKS = [checks.check_output_size, checks.check_dense_params, checks.check_conv_params,
                       checks.check_dense_flops, checks.check_conv1d_flops, checks.check_equivariance_gap,
                       *(c for c, _ in ARRAY_CHECKS.values())]


@pytest.mark.parametrize("check", ALL_FUNCTION_CHECKS, ids=lambda c: c.__name__)
def test_an_exception_whose_str_raises(check):
    def broken(*args, **kwargs):
        raise StrRaises()

    with pytest.raises(CheckFailed, match="StrRaises: <StrRaises that cannot be printed>") as info:
        check(broken)
    assert info.value.diagnosis.key == "raised"


# -- numbers ------------------------------------------------------------------------------------------

NOT_A_SIZE = [[9], {9}, {"n": 9}, (9,), np.array([9, 9]), np.array([9]), float("nan"), float("inf"), -float("inf"),
              "9", b"9", 9 + 0j, True, object(), torch.tensor([9, 9]), torch.tensor(9.0).to("meta")]


@pytest.mark.parametrize("answer", NOT_A_SIZE, ids=repr)
def test_output_size_answers_that_are_not_one_number(answer):
    with pytest.raises(CheckFailed) as info:
        checks.check_output_size(lambda n, k, stride=1, padding=0: answer)
    assert info.value.diagnosis.key == "not_a_number"


@pytest.mark.parametrize("answer", [np.int64(9), 9.0, np.float32(9.0), np.array(9), torch.tensor(9)], ids=repr)
def test_output_size_single_numbers_still_work(answer):
    """The first case expects 9: these are 9 (floats are then flagged as floats, as before)."""
    def fn(n, k, stride=1, padding=0):
        return answer if (n, k, stride, padding) == (100, 20, 10, 0) else ref.output_size(n, k, stride, padding)

    try:
        checks.check_output_size(fn)
    except CheckFailed as exc:
        assert exc.diagnosis.key == "float_result"


@settings(max_examples=150)
@given(value=st.one_of(st.integers(), st.integers(min_value=10**300, max_value=10**400), st.floats(),
                       st.lists(st.integers(), max_size=3), st.text(max_size=5), st.none(), st.booleans(),
                       st.complex_numbers()))
def test_counting_checks_never_crash_on_any_value(value):
    for check in (checks.check_dense_params, checks.check_conv_params, checks.check_dense_flops, checks.check_conv1d_flops,
                  checks.check_output_size):
        with pytest.raises(CheckFailed):
            check(lambda *args, **kwargs: value)


@pytest.mark.parametrize("check", [checks.check_dense_params, checks.check_conv1d_flops], ids=lambda c: c.__name__)
def test_huge_ints_are_compared_exactly(check):
    with pytest.raises(CheckFailed) as info:
        check(lambda *args, **kwargs: 10**400)
    assert info.value.diagnosis.key == "wrong_value" and "..." in str(info.value)  # shown shortened


@settings(max_examples=100)
@given(value=st.one_of(st.integers(min_value=10**300, max_value=10**400), st.floats(allow_nan=True), st.text(max_size=4),
                       st.complex_numbers(), st.none(), st.lists(st.integers(), max_size=2)))
def test_check_answer_never_crashes(value):
    with pytest.raises(CheckFailed):
        checks.check_answer("q1", value, checks.answer_digest(7, "q1"))


def test_check_answer_with_an_unprintable_value():
    class Weird:
        def __float__(self):
            raise RuntimeError("no float")

        def __repr__(self):
            raise RuntimeError("no repr")

    with pytest.raises(CheckFailed, match="cannot be printed"):
        checks.check_answer("q1", Weird(), checks.answer_digest(7, "q1"))


# -- models ------------------------------------------------------------------------------------------

class EKG(torch.nn.Module):
    def __init__(self, out):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv1d(1, 4, 20, stride=10), torch.nn.Conv1d(4, 2, 5)
        self.out = out

    def forward(self, x):
        return self.out(x)


@pytest.mark.parametrize("out, key", [
    (lambda x: torch.full((x.shape[0], 1), float("nan")), "not_finite"),
    (lambda x: torch.cat([torch.full((1, 1), float("nan")), torch.full((x.shape[0] - 1, 1), 0.5)]), "not_finite"),
    (lambda x: torch.full((x.shape[0], 1), float("inf")), "not_finite"),
    (lambda x: torch.full((x.shape[0], 1), 0.5).to("meta"), "not_numeric"),
    (lambda x: torch.full((x.shape[0], 1), 0.5, dtype=torch.complex64), "not_numeric"),
    (lambda x: torch.full((x.shape[0], 1), 0.5).to_sparse(), "not_numeric"),
    (lambda x: torch.sigmoid(x.sum(dim=2)), "sigmoid_in_forward"),   # the contract is logits (lesson 03)
])
def test_ekgnet_outputs_that_are_not_finite_logits(out, key):
    with pytest.raises(CheckFailed) as info:
        checks.check_ekgnet(EKG(out))
    assert info.value.diagnosis.key == key


def test_ekgnet_that_raises_an_unprintable_error():
    def out(x):
        raise StrRaises()

    with pytest.raises(CheckFailed, match="cannot be printed"):
        checks.check_ekgnet(EKG(out))


class EKGWithProba(EKG):
    def predict_proba(self, x):
        return torch.sigmoid(self(x))


def test_ekgnet_with_logits_and_predict_proba_passes(capsys):
    checks.check_ekgnet(EKGWithProba(lambda x: 3.0 * x.sum(dim=2)))   # finite, unbounded scores
    assert "passed" in capsys.readouterr().out


class Classifier(torch.nn.Module):
    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return self.out(x)


@pytest.mark.parametrize("out, key", [
    (lambda x: torch.zeros(x.shape[0], 10, device="meta"), "not_numeric"),
    (lambda x: torch.full((x.shape[0], 10), float("nan")), "not_finite"),
    (lambda x: torch.zeros(x.shape[0], 10, dtype=torch.complex64), "not_numeric"),
    (lambda x: torch.zeros(x.shape[0], 10, dtype=torch.bfloat16), "not_numeric"),
])
def test_classifier_outputs_of_the_right_shape_but_no_real_values(out, key):
    with pytest.raises(CheckFailed) as info:
        checks.check_classifier_output(Classifier(out), (4, 1, 28, 28), 10)
    assert info.value.diagnosis.key == key


def test_classifier_with_real_logits_passes(capsys):
    checks.check_classifier_output(Classifier(lambda x: torch.zeros(x.shape[0], 10)), (4, 1, 28, 28), 10)
    assert "passed" in capsys.readouterr().out
