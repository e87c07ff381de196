"""Drills: seeded, varied, and their answers agree with real PyTorch layers."""

from __future__ import annotations

import pytest
import torch

from course_lib import drills


def _torch_output_rows(setup: dict) -> int:
    conv = torch.nn.Conv2d(1, 1, setup["kernel"], stride=setup["stride"], padding=setup["padding"],
                           dilation=setup["dilation"])
    with torch.no_grad():
        return conv(torch.zeros(1, 1, setup["n"], setup["n"])).shape[-1]


def test_same_seed_same_drills_and_different_seed_differs():
    first = drills.make_drills(12, seed=3)
    again = drills.make_drills(12, seed=3)
    other = drills.make_drills(12, seed=4)
    assert [d.prompt for d in first] == [d.prompt for d in again]
    assert [d.prompt for d in first] != [d.prompt for d in other]


def test_kinds_cycle_in_order():
    kinds = [d.kind for d in drills.make_drills(7, seed=0)]
    assert kinds == ["output_size", "param_count", "receptive_field"] * 2 + ["output_size"]


@pytest.mark.parametrize("seed", range(6))
def test_output_size_answers_match_torch(seed):
    for drill in drills.make_drills(8, seed=seed, kinds=["output_size"]):
        assert drill.answer == _torch_output_rows(drill.setup), drill.prompt
        assert str(drill.answer) in drill.explanation


@pytest.mark.parametrize("seed", range(6))
def test_param_count_answers_match_torch(seed):
    for drill in drills.make_drills(8, seed=seed, kinds=["param_count"]):
        s = drill.setup
        if s["layer"] == "conv2d":
            layer = torch.nn.Conv2d(s["c_in"], s["c_out"], s["kernel"], bias=s["bias"])
        else:
            layer = torch.nn.Linear(s["n_in"], s["units"], bias=s["bias"])
        assert drill.answer == sum(p.numel() for p in layer.parameters()), drill.prompt


@pytest.mark.parametrize("seed", range(6))
def test_receptive_field_answers_match_gradient_support(seed):
    """The receptive field is the set of inputs with a non-zero gradient for one top unit."""
    for drill in drills.make_drills(6, seed=seed, kinds=["receptive_field"]):
        layers = drill.setup["layers"]
        length = 400
        x = torch.ones(1, 1, length, requires_grad=True)
        h = x
        for k, s, d in layers:
            conv = torch.nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False)
            torch.nn.init.constant_(conv.weight, 1.0)
            h = conv(h)
        h[0, 0, 0].backward()
        seen = (x.grad[0, 0] != 0).nonzero().flatten()
        assert drill.answer == int(seen.max() - seen.min() + 1), drill.prompt


def test_drills_vary_within_one_quiz():
    prompts = {d.prompt for d in drills.make_drills(30, seed=0)}
    assert len(prompts) >= 25


@pytest.mark.parametrize("bad, error, message", [(0, ValueError, r"n must be an int in 1\.\.1000; got 0"),
                                                 ("3", TypeError, r"n must be an int in 1\.\.1000; got str '3'"),
                                                 (True, TypeError, r"n must be an int in 1\.\.1000; got bool True"),
                                                 (10**9, ValueError, r"n must be an int in 1\.\.1000; got 1000000000")])
def test_bad_n_is_named(bad, error, message):
    with pytest.raises(error, match=message):
        drills.make_drills(bad)


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="kinds: .*'stride_size'"):
        drills.make_drills(2, kinds=["stride_size"])


def test_bad_rng_type_is_named():
    with pytest.raises(TypeError, match="rng: expected a numpy Generator"):
        drills.output_size_drill("seed")
