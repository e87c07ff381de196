"""RandomShift: every output image is its input shifted by at most max_shift pixels."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import RandomShift


def test_each_image_is_a_shift_of_its_input_and_shifts_vary():
    torch.manual_seed(0)
    x = torch.rand(40, 2, 9, 7)
    y = RandomShift(2)(x)
    assert y.shape == x.shape
    shifts = set()
    for i in range(len(x)):
        padded = F.pad(x[i], (2, 2, 2, 2))
        found = [(r, c) for r in range(5) for c in range(5) if torch.equal(padded[:, r : r + 9, c : c + 7], y[i])]
        assert found, f"image {i} is not a shifted copy of its input"
        shifts.add(found[0])
    assert len(shifts) > 5


def test_zero_shift_is_identity_and_seeded_runs_agree():
    x = torch.rand(4, 1, 5, 5)
    assert torch.equal(RandomShift(0)(x), x)
    torch.manual_seed(3)
    a = RandomShift(1)(x)
    torch.manual_seed(3)
    assert torch.equal(RandomShift(1)(x), a)


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_shift must be an int >= 0; got -1"):
        RandomShift(-1)
    with pytest.raises(ValueError, match=r"x: expected a batch of images \(N, C, H, W\), got shape \(5, 5\)"):
        RandomShift(1)(torch.rand(5, 5))
