"""The benchmarks' fairness harness (benchmarks/_fair.py) and the torch side of bench_onnx_runtime: alternation,
warm-up discarded, medians with min–max and ratios, worker processes, and folded BatchNorm equal to unfolded."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _fair  # noqa: E402


def test_alternate_schedule_flips_the_first_side_every_round():
    assert _fair.schedule(["A", "B"], 4) == [["A", "B"], ["B", "A"], ["A", "B"], ["B", "A"]]
    assert _fair.schedule(["A", "B", "C"], 2) == [["A", "B", "C"], ["C", "B", "A"]]


def test_random_schedule_is_reproducible_and_runs_every_side_once_per_round():
    s1, s2 = _fair.schedule("ABC", 20, "random", seed=3), _fair.schedule("ABC", 20, "random", seed=3)
    assert s1 == s2
    assert all(sorted(r) == ["A", "B", "C"] for r in s1)
    assert len({tuple(r) for r in s1}) > 1  # really shuffled
    with pytest.raises(ValueError):
        _fair.schedule("AB", 2, "sorted")


def test_compare_interleaves_the_sides_and_discards_the_warm_up():
    calls = []
    clock = [0.0]
    cost = {"A": [10.0, 1.0, 2.0, 3.0], "B": [20.0, 4.0, 8.0, 12.0]}  # first value: the warm-up round

    def runner(name):
        def run():
            calls.append(name)
            clock[0] += cost[name].pop(0)
        return run

    cmp = _fair.compare({"A": runner("A"), "B": runner("B")}, rounds=3, warmup=1, timer=lambda: clock[0])
    assert calls == ["A", "B", "B", "A", "A", "B", "B", "A"]
    assert cmp.values == {"A": [1.0, 2.0, 3.0], "B": [4.0, 8.0, 12.0]}
    assert cmp.ran == [["B", "A"], ["A", "B"], ["B", "A"]]
    assert cmp.spread("A") == _fair.Spread(2.0, 1.0, 3.0, 3)
    assert cmp.ratio("B", "A") == pytest.approx(4.0)
    rr = cmp.round_ratios("B", "A")
    assert (rr.median, rr.lo, rr.hi) == (4.0, 4.0, 4.0)


def test_a_runner_that_returns_its_own_measurement_is_kept_as_it_is():
    cmp = _fair.compare({"A": lambda: 0.5, "B": lambda: 2.0}, rounds=2, warmup=0, timer=lambda: 0.0)
    assert cmp.values == {"A": [0.5, 0.5], "B": [2.0, 2.0]}


def test_report_prints_median_min_max_and_the_ratio_with_its_spread():
    cmp = _fair.Comparison(["torch", "ORT"], {"torch": [0.010, 0.030, 0.020], "ORT": [0.005, 0.010, 0.010]})
    lines = cmp.report(unit="ms", scale=1000, digits=1)
    assert lines[0].split() == ["torch", "20.0", "(10.0–30.0)", "ms", "[3", "rounds]"]
    assert lines[1].split()[1:4] == ["10.0", "(5.0–10.0)", "ms"]
    # times: the first side ÷ the other = how many times faster the other is; per-round 2, 3, 2
    assert lines[2].startswith("  time torch ÷ ORT: ×2.00 (ratio of medians; per round 2.00 (2.00–3.00))")
    rates = _fair.Comparison(["a", "b"], {"a": [100.0], "b": [250.0]})
    assert rates.report(higher_is_better=True)[2].startswith("  rate b ÷ a: ×2.50")


def test_thread_env_sets_every_math_library():
    env = _fair.thread_env(2, {"PATH": "/bin", "OMP_NUM_THREADS": "16"})
    assert all(env[k] == "2" for k in _fair.THREAD_VARS) and env["PATH"] == "/bin"
    assert _fair.thread_env(0, {"OMP_NUM_THREADS": "16"}) == {"OMP_NUM_THREADS": "16"}


def test_a_worker_runs_in_its_own_process_with_the_threads_it_was_given(tmp_path):
    (tmp_path / "fair_probe_side.py").write_text(
        "import os\nclass Side:\n    def __init__(self, k):\n        self.k = k\n"
        "    def ask(self, x):\n        print('noise on stdout must not break the protocol')\n"
        "        return {'pid': os.getpid(), 'omp': os.environ.get('OMP_NUM_THREADS'), 'x': x * self.k}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        # the child finds the module through PYTHONPATH (benchmarks/ and the project are on its path already)
        import os
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(tmp_path)
        try:
            with _fair.Worker("fair_probe_side:Side", 3, {"k": 7}) as w:
                r = w.call("ask", x=6)
                with pytest.raises(RuntimeError, match="ZeroDivisionError|TypeError"):
                    w.call("ask")  # a missing argument: the worker's error comes back, the worker survives
                assert w.call("ask", x=1)["x"] == 7
        finally:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old
    finally:
        sys.path.remove(str(tmp_path))
    assert r["pid"] != os.getpid() and r["omp"] == "3" and r["x"] == 42


def test_folded_batchnorm_gives_the_same_outputs_and_leaves_no_batchnorm():
    torch = pytest.importorskip("torch")
    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder

    torch.manual_seed(0)
    model = ConvAutoencoder(ArchitectureConfig(image_size=16, z_dim=8, channels=(4, 8, 8, 8), batch_norm=True))
    # trained-looking statistics, so the fold has something to fold
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    folded, n = _fair.fold_batchnorm(model)
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert n == len(bn) == 7
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x, z = torch.rand(5, 3, 16, 16), torch.randn(5, 8)
    with torch.inference_mode():
        assert torch.allclose(folded.encode(x), model.encode(x), atol=1e-5)
        assert torch.allclose(folded.decode(z), model.decode(z), atol=1e-5)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original is untouched


def test_the_onnx_benchmark_times_torch_in_inference_mode_with_batchnorm_folded(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import bench_onnx_runtime as bench
    from engine.autoencoder import ArchitectureConfig, ConvAutoencoder
    from engine.formats import native
    from engine.image_data import Preprocess

    torch.manual_seed(0)
    arch = ArchitectureConfig(image_size=16, z_dim=8, channels=(4, 8, 8, 8), batch_norm=True)
    native.save_model(tmp_path / "m", ConvAutoencoder(arch), native.ModelConfig(arch, Preprocess(image_size=16)))
    plain = bench.TorchSide(str(tmp_path / "m"), 1, fold=False)
    side = bench.TorchSide(str(tmp_path / "m"), 1, fold=True)
    assert side.info()["folded"] == 7 and side.info()["batchnorm_left"] == 0
    assert plain.info()["batchnorm_left"] == 7
    seen = []
    real = side.module.decode

    def spy(x):
        seen.append(torch.is_inference_mode_enabled())
        return real(x)

    monkeypatch.setattr(side.module, "decode", spy)
    assert side.measure("decode", 4, 2) > 0
    assert seen == [True, True]
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    for what in ("decode", "encode"):
        plain.output(what, 3, str(a))
        side.output(what, 3, str(b))
        assert np.abs(np.load(a) - np.load(b)).max() < 1e-5


# the benchmarks that compare two ways of doing a job, and what each compares
COMPARING = {
    "bench_onnx_runtime.py": "torch vs ONNX Runtime",
    "bench_pca_ellipse.py": "the blog's loop vs the vectorised construction",
    "bench_latent_stats.py": "fit_gaussians vs curve_fit",
    "bench_spine.py": "raw vs full encode / training",
    "bench_train_gpu.py": "raw step vs train()",
    "startup_timeline.py": "staged vs eager start",
    "first_launch.py": "shipped vs export, cold vs warm",
    "report_time.py": "empty vs kept cache",
}


@pytest.mark.parametrize("name", sorted(COMPARING))
def test_every_comparing_benchmark_goes_through_the_fair_harness(name):
    text = (BENCH / name).read_text()
    assert "import _fair" in text, f"{name} compares {COMPARING[name]} without benchmarks/_fair.py"
    assert "_fair.compare(" in text or "_fair.schedule(" in text, f"{name} does not alternate its sides"


def test_no_benchmark_times_torch_outside_inference_mode():
    offenders = [p.name for p in BENCH.glob("*.py") if "no_grad" in p.read_text()]
    assert offenders == [], f"torch.no_grad in {offenders}: time torch in torch.inference_mode()"
