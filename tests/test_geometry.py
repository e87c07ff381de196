"""The one home of the window arithmetic (course_lib.geometry) and of int validation
(course_lib.validation), and the import rules that keep them at the bottom of the package."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from course_lib import geometry, shapes
from course_lib.validation import check_int, int_tuple, is_int, nonnegative_int, positive_int

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "course_lib"


@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), d=st.integers(1, 3),
       before=st.integers(0, 4), after=st.integers(0, 4))
def test_output_length_matches_torch(n, k, s, d, before, after):
    expected_fits = d * (k - 1) + 1 <= n + before + after
    got = geometry.output_length(n, k, s, (before, after), d)
    assert (got > 0) == expected_fits
    if expected_fits:
        x = F.pad(torch.zeros(1, 1, n), (before, after))
        assert got == F.conv1d(x, torch.zeros(1, 1, k), stride=s, dilation=d).shape[-1]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("k, d", [(1, 1), (3, 1), (4, 1), (3, 2), (4, 3), (7, 1)])
def test_same_padding_keeps_the_length_like_torch(k, d):
    before, after = geometry.same_padding(k, d)
    assert before + after == d * (k - 1) and after - before in (0, 1)
    x = torch.randn(1, 1, 11)
    w = torch.randn(1, 1, k)
    torch.testing.assert_close(F.conv1d(F.pad(x, (before, after)), w, dilation=d),
                               F.conv1d(x, w, padding="same", dilation=d))


def test_resolve_padding_forms():
    assert geometry.resolve_padding("valid", (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert geometry.resolve_padding(2, (3, 3), (1, 1), (1, 1)) == ((2, 2), (2, 2))
    assert geometry.resolve_padding((1, 2), (3, 3), (1, 1), (1, 1)) == ((1, 1), (2, 2))
    assert geometry.resolve_padding(((0, 1), (2, 3)), (3, 3), (1, 1), (1, 1)) == ((0, 1), (2, 3))
    assert geometry.resolve_padding("same", (4,), None, (1,)) == ((1, 2),)    # stride not checked
    with pytest.raises(ValueError, match=r"op: padding='same' needs stride=1 \(as in PyTorch\); got stride=2"):
        geometry.resolve_padding("same", (3,), (2,), (1,), where="op")
    with pytest.raises(ValueError, match="padding must be >= 0 in every dimension; got -1"):
        geometry.resolve_padding(-1, (3,), (1,), (1,))
    with pytest.raises(TypeError, match=r"padding must be an int, a tuple of 1 ints, a tuple of 1 \(before, after\)"):
        geometry.resolve_padding(1.5, (3,), (1,), (1,))


def test_one_formula_everywhere():
    """shapes, ops and viz give the same output size as torch for the same layer."""
    from course_lib import ops
    from course_lib.viz.conv import unit_input_spans

    x = np.zeros((1, 1, 23))
    for k, s, d, p in [(3, 1, 1, 0), (5, 2, 1, 2), (3, 3, 2, 1), (20, 10, 1, 0)]:
        expected = F.conv1d(torch.zeros(1, 1, 23 + 2 * p), torch.zeros(1, 1, k), stride=s, dilation=d).shape[-1]
        assert shapes.conv_output_size(23, k, s, p, d) == expected
        assert ops.conv1d(x, np.zeros((1, 1, k)), stride=s, padding=p, dilation=d).shape[-1] == expected
        if p == 0:
            assert len(unit_input_spans(23, [(k, s, d)])[0]) == expected


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_ints_of_any_integer_type_pass(value):
    assert positive_int(value, "k") == 3 and type(positive_int(value, "k")) is int
    assert is_int(value)


@pytest.mark.parametrize("value, error, message", [
    (True, TypeError, r"f: k must be an int >= 1; got bool True"),
    (np.bool_(True), TypeError, r"f: k must be an int >= 1; got bool np.True_"),
    (2.0, TypeError, r"f: k must be an int >= 1; got float 2.0"),
    ("3", TypeError, r"f: k must be an int >= 1; got str '3'"),
    (None, TypeError, r"f: k must be an int >= 1; got NoneType None"),
    (0, ValueError, r"f: k must be an int >= 1; got 0"),
    (-4, ValueError, r"f: k must be an int >= 1; got -4"),
])
def test_positive_int_names_argument_value_and_expectation(value, error, message):
    with pytest.raises(error, match=message):
        positive_int(value, "k", where="f")


def test_check_int_ranges():
    assert check_int(7, "kernel_size", minimum=1, maximum=7) == 7
    with pytest.raises(ValueError, match=r"^W: kernel_size must be an int in 1..7; got 99$"):
        check_int(99, "kernel_size", minimum=1, maximum=7, where="W")
    with pytest.raises(ValueError, match=r"^limit must be an int <= 5; got 6$"):
        check_int(6, "limit", maximum=5)
    assert nonnegative_int(0, "seed") == 0
    with pytest.raises(ValueError, match="seed must be an int >= 0; got -1"):
        nonnegative_int(-1, "seed")


def test_int_tuple():
    assert int_tuple(2, 2, "stride") == (2, 2)
    assert int_tuple([np.int32(1), 3], 2, "stride") == (1, 3)
    with pytest.raises(TypeError, match=r"op: stride must be an int or a tuple of 2 ints; got \(1, 2, 3\) \(length 3\)"):
        int_tuple((1, 2, 3), 2, "stride", "op")
    with pytest.raises(TypeError, match=r"stride must be an int or a tuple of 2 ints; got True"):
        int_tuple(True, 2, "stride")
    with pytest.raises(ValueError, match=r"stride must be >= 1 in every dimension; got \(1, 0\)"):
        int_tuple((1, 0), 2, "stride")


def _imports(path: pathlib.Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every import in ``path``, relative imports made absolute."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            module = node.module or ""
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def test_bottom_layer_imports_nothing_above_it():
    """validation and geometry import nothing from course_lib but each other; ops and shapes import
    only them (GUIDE section 2: ops and shapes sit at the bottom)."""
    bottom = {"course_lib.validation", "course_lib.geometry"}
    files = [PACKAGE / "validation.py", PACKAGE / "geometry.py", PACKAGE / "shapes.py", *sorted((PACKAGE / "ops").glob("*.py"))]
    for path in files:
        for module, _ in _imports(path):
            if module.startswith("course_lib") and not module.startswith("course_lib.ops"):
                assert module in bottom, f"{path.name} imports {module}"


def test_no_module_imports_another_modules_private_names():
    for path in sorted(PACKAGE.rglob("*.py")):
        for module, names in _imports(path):
            if module.startswith("course_lib"):
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                assert not private, f"{path.relative_to(PACKAGE)} imports private {private} from {module}"
