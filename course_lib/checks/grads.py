"""Checks for pooling and for backward passes (gradient shapes first, then values)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import reference as ref
from .diagnose import Case, close, describe_shape, run_cases
from .feedback import Diagnosis, fail, not_implemented, passed
from .outputs import describe_exception, real_array

__all__ = ["check_max_pool2d", "check_max_pool2d_backward", "check_conv2d_backward", "check_numerical_gradient"]


def _pool_inputs(seed: int):
    rng = np.random.default_rng(seed)
    x0 = np.array([[[[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 5.0], [0.0, 1.0, 9.0, 2.0], [3.0, 8.0, 4.0, 6.0]]]])
    specs = [(x0, 2, None, True)]
    for shape, k, s in [((2, 3, 6, 6), 2, None), ((1, 2, 7, 7), 3, 2), ((2, 1, 9, 9), 3, None)]:
        specs.append((rng.standard_normal(shape), k, s, False))
    return specs


def _pool_shape(kind: str):
    def diagnose(case: Case, got: tuple) -> Diagnosis:
        exp = case.expected.shape
        k = case.args[1]
        s = case.kwargs.get("stride") or k
        msg = f"{kind} returned shape {describe_shape(got)}, expected {describe_shape(exp)} on {case.label}."
        if kind.endswith("backward"):
            return Diagnosis("gradient_shape", msg + " A gradient always has the shape of the tensor it is taken with "
                             "respect to: dx must have the shape of x.",
                             ("Start from dx = np.zeros_like(x) and add each dy value into its window's arg-max.",))
        if len(got) == 4 and got[2] == case.args[0].shape[2] - k + 1:
            return Diagnosis("stride_one", msg + f" You slid the window by 1; the stride defaults to the kernel size ({k}).",
                             ("stride = kernel_size if stride is None else stride",))
        return Diagnosis("wrong_shape", msg + f" H_out = floor((H - k) / stride) + 1 with stride={s}.",
                         ("Keep the batch and channel axes; only H and W shrink.",))
    return diagnose


def check_max_pool2d(fn: Callable, check_id: str = "max_pool2d") -> None:
    """fn(x, kernel_size, stride=None): x (N, C, H, W) -> (N, C, H_out, W_out)."""
    cases = []
    for i, (x, k, s, example) in enumerate(_pool_inputs(5)):
        stride = k if s is None else s
        win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
        alternatives = {"average": win.mean(axis=(4, 5)), "minimum": win.min(axis=(4, 5))}
        label = "the notebook's example" if example else f"random input #{i} (shape {x.shape}, kernel {k}, stride {s})"
        cases.append(Case((x, k), ref.max_pool2d(x, k, s), label, {"stride": s}, alternatives, example))
    mistakes = {
        "average": Diagnosis("average_pool", "You averaged each window; max pooling keeps the largest value.", ("Use .max over the window.",)),
        "minimum": Diagnosis("min_pool", "You took the smallest value of each window; max pooling keeps the largest.", ("Use .max, not .min.",)),
    }
    run_cases(check_id, fn, cases, mistakes, _pool_shape("max_pool2d"), name="max_pool2d")
    passed(check_id, f"max_pool2d matches the reference on {len(cases)} inputs.")


def check_max_pool2d_backward(fn: Callable, check_id: str = "max_pool2d_backward") -> None:
    """fn(dy, x, kernel_size, stride=None) -> dx shaped like x (dy routed to each window's arg-max)."""
    cases = []
    rng = np.random.default_rng(6)
    for i, (x, k, s, example) in enumerate(_pool_inputs(6)):
        out = ref.max_pool2d(x, k, s)
        dy = np.ones_like(out) if example else rng.standard_normal(out.shape)
        stride = k if s is None else s
        spread = np.zeros_like(x)
        for r in range(out.shape[2]):
            for c in range(out.shape[3]):
                spread[:, :, r * stride:r * stride + k, c * stride:c * stride + k] += dy[:, :, r:r + 1, c:c + 1] / (k * k)
        label = "the notebook's example" if example else f"random input #{i} (shape {x.shape}, kernel {k}, stride {s})"
        cases.append(Case((dy, x, k), ref.max_pool2d_backward(dy, x, k, s), label, {"stride": s},
                          {"spread": spread, "spread_all": spread * k * k}, example))
    mistakes = {
        "spread": Diagnosis("gradient_averaged", "You spread dy evenly over each window (the gradient of average pooling). "
                            "For max pooling only the arg-max of each window receives dy; the others get 0.",
                            ("Find the position of the maximum in each window (np.argmax + np.unravel_index) and add dy there.",)),
        "spread_all": Diagnosis("gradient_to_all", "You copied dy to every position of each window. Only the arg-max "
                                "influenced the output, so only it gets the gradient.",
                                ("A mask (window == window.max()) times dy does this, if you handle ties.",)),
    }
    run_cases(check_id, fn, cases, mistakes, _pool_shape("max_pool2d_backward"), name="max_pool2d_backward")
    passed(check_id, f"max_pool2d_backward routes gradients like the reference on {len(cases)} inputs.")


def check_conv2d_backward(fn: Callable, check_id: str = "conv2d_backward") -> None:
    """fn(dy, x, w, stride=s, padding=p) -> (dx, dw, db) with dx like x, dw like w, db (C_out,)."""
    rng = np.random.default_rng(8)
    specs = [((1, 1, 4, 4), (1, 1, 2, 2), 1, 0, True), ((2, 3, 6, 6), (4, 3, 3, 3), 1, 0, False),
             ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1, False), ((1, 2, 8, 8), (2, 2, 4, 4), 2, 0, False)]
    names = ("dx", "dw", "db")
    for i, (xs, ws, s, p, example) in enumerate(specs):
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        out_shape = ref.conv2d(x, w, None, s, p).shape
        dy = rng.standard_normal(out_shape)
        label = "the notebook's example" if example else f"random input #{i} (x {xs}, w {ws}, stride {s}, padding {p})"
        call = f"conv2d_backward(dy{describe_shape(dy.shape)}, x{describe_shape(xs)}, w{describe_shape(ws)}, stride={s}, padding={p})"
        try:
            result = fn(dy.copy(), x.copy(), w.copy(), stride=s, padding=p)
        except NotImplementedError:
            not_implemented(check_id, "conv2d_backward")
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"{call} raised {describe_exception(exc)} on {label}.",
                                     ("Print the shapes of dy, the window you slice and w at the failing line.",)))
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            fail(check_id, Diagnosis("not_a_triple", f"{call} must return a tuple (dx, dw, db); got {type(result).__name__}."))
        converted = [real_array(r) for r in result]
        got = [g for g, _ in converted]
        exp = ref.conv2d_backward(dy, x, w, s, p)
        targets = {"dx": x.shape, "dw": w.shape, "db": (w.shape[0],)}
        for name, (g, problem), e in zip(names, converted, exp):
            if g is None:
                fail(check_id, Diagnosis("not_numeric", f"{name} is {problem}; expected a real array of shape {describe_shape(e.shape)}."))
            if g.shape != e.shape:
                swapped = [n for n, t in targets.items() if t == g.shape and n != name]
                extra = ""
                key = "gradient_shape"
                if swapped:
                    extra = f" It has the shape of {swapped[0]}: did you return them in the wrong order? The order is (dx, dw, db)."
                    key = "gradients_swapped"
                elif name == "db" and g.shape == (dy.shape[0], dy.shape[1]):
                    extra = " db must also be summed over the batch axis (and over positions): db = dy.sum(axis=(0, 2, 3))."
                    key = "db_not_summed_over_batch"
                elif name == "db":
                    extra = " db[o] sums dy[:, o] over the batch and all output positions."
                    key = "db_wrong_sum"
                fail(check_id, Diagnosis(key, f"{name} has shape {describe_shape(g.shape)}, expected {describe_shape(e.shape)} "
                                         f"on {label}. A gradient has the shape of the tensor it is taken with respect to.{extra}",
                                         ("dx like x (N, C_in, H, W); dw like w (C_out, C_in, KH, KW); db like b (C_out,).",)))
        for name, g, e in zip(names, got, exp):
            if close(g, e, 1e-5, 1e-7):
                continue
            if name == "dw" and close(g, e[..., ::-1, ::-1], 1e-5, 1e-7):
                fail(check_id, Diagnosis("dw_flipped", f"dw is the correct gradient rotated by 180 degrees on {label}.",
                                         ("dw[o, c, i, j] = sum over n, positions of dy[n, o, r, s] * x_pad[n, c, r*stride + i, s*stride + j].",)))
            bad = np.argwhere(~np.isclose(g, e, 1e-5, 1e-7))
            where = tuple(int(v) for v in bad[0])
            fail(check_id, Diagnosis(f"{name}_wrong_values", f"{name} has the right shape but wrong values on {label}: "
                                     f"{len(bad)} of {e.size} entries differ; first at {where}: got {g[where]:.6g}, expected {e[where]:.6g}.",
                                     ("Compare with a numerical gradient (central differences) on a tiny input.",
                                      "Every output position (r, s) adds dy[n, o, r, s] * w[o] into the window of dx it came from"
                                      " and dy[n, o, r, s] * window into dw[o]; with padding, accumulate into the padded dx and crop.")))
    passed(check_id, f"conv2d_backward matches the reference gradients on {len(specs)} inputs (with stride and padding).")


def check_numerical_gradient(fn: Callable, check_id: str = "numerical_gradient") -> None:
    """fn(f, x, eps=1e-6) -> grad like x: central differences of the scalar f() w.r.t. array x (in place)."""
    rng = np.random.default_rng(9)
    specs = [("sum(x**2)", lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, np.array([1.0, -2.0, 3.0])),
             ("sum(x**3)", lambda x: float(np.sum(x ** 3)), lambda x: 3 * x ** 2, rng.standard_normal((3, 4))),
             ("sum(sin(x) * c)", None, None, rng.standard_normal((2, 2, 3)))]
    c = rng.standard_normal((2, 2, 3))
    specs[2] = ("sum(sin(x) * c)", lambda x: float(np.sum(np.sin(x) * c)), lambda x: np.cos(x) * c, specs[2][3])
    for name, func, grad, x0 in specs:
        x = x0.copy()
        try:
            got = fn(lambda: func(x), x, eps=1e-5)
        except NotImplementedError:
            not_implemented(check_id, "numerical_gradient")
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"numerical_gradient on f = {name} raised {describe_exception(exc)}.",
                                     ("Call f() with no arguments: it reads x, which you perturb in place.",)))
        g, problem = real_array(got)
        if g is None:
            fail(check_id, Diagnosis("not_numeric", f"numerical_gradient returned {problem}; expected a real array of shape "
                                     f"{describe_shape(x0.shape)}, like x."))
        if g.shape != x0.shape:
            fail(check_id, Diagnosis("gradient_shape", f"numerical_gradient returned shape {describe_shape(g.shape)}"
                                     f" for x of shape {describe_shape(x0.shape)}: the gradient has the shape of x.",
                                     ("grad = np.zeros_like(x), then fill grad[idx] for every idx (np.ndindex(x.shape)).",)))
        if not np.array_equal(x, x0):
            fail(check_id, Diagnosis("x_not_restored", "numerical_gradient left x modified: restore x[idx] to its old value after each probe.",
                                     ("old = x[idx]; x[idx] = old + eps; ...; x[idx] = old",)))
        exact = grad(x0)
        if np.allclose(g, exact, rtol=1e-6, atol=1e-8):
            continue
        if np.allclose(g, 2 * exact, rtol=1e-4, atol=1e-6):
            fail(check_id, Diagnosis("divided_by_eps", f"Your gradient of {name} is twice the true one: central differences divide by 2*eps.",
                                     ("(f(x + eps) - f(x - eps)) / (2 * eps)",)))
        if np.allclose(g, exact, rtol=1e-3, atol=1e-4):
            fail(check_id, Diagnosis("forward_difference", f"Your gradient of {name} is only accurate to about eps: this looks like a "
                                     "one-sided difference. Central differences (f(x+eps) - f(x-eps)) / (2 eps) are accurate to eps**2.",
                                     ("Evaluate f at x + eps and at x - eps.",)))
        fail(check_id, Diagnosis("wrong_values", f"numerical_gradient of {name} does not match the exact gradient.",
                                 ("Perturb one entry at a time and keep the others unchanged.",)))
    passed(check_id, "numerical_gradient matches exact gradients of three test functions.")
