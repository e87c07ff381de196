"""benchmarks/bench_conv.py runs its new shapes (depthwise, grouped, transposed) against torch:
a smoke run on small batches (the script checks numpy's output against torch before timing)."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_conv", ROOT / "benchmarks" / "bench_conv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)      # numpy is imported already: no re-exec
    return module


def test_bench_prints_the_modern_shapes(monkeypatch, capsys):
    bench = _load_bench()
    labels = [s[0] for s in bench.SHAPES_MODERN]
    assert any("dw 32 3x3" in label for label in labels)
    assert any("g=4" in label for label in labels)
    assert any(label.startswith("2d N=128 T 32->16 4x4 s2 14->28") for label in labels)
    small = [(label, 2, *rest) for label, _, *rest in bench.SHAPES_MODERN]   # N = 2: a smoke run
    monkeypatch.setattr(bench, "SHAPES_MODERN", small)
    assert bench.main(["--shapes", "modern", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for label in labels:
        rows = [line for line in out.splitlines() if line.startswith(label)]
        assert len(rows) == 3, out          # torch.nn.functional, ops torch, ops numpy
        assert any("ops numpy" in r for r in rows) and any("torch.nn.functional" in r for r in rows)
