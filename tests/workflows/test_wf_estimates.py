"""engine/workflows/estimates.py: what a job says before it starts."""
from __future__ import annotations

import numpy as np
import pytest

from engine.workflows import estimates
from engine.workflows.estimates import Expected, about, clock


@pytest.fixture(autouse=True)
def quiet_machine(monkeypatch):
    monkeypatch.setattr(estimates, "busy_factor", lambda: 1.0)


def test_a_busy_machine_takes_longer(monkeypatch):
    monkeypatch.undo()
    real = estimates.busy_factor
    monkeypatch.setattr(estimates.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(estimates.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert real() == 1.0  # a quiet machine: the table as it is
    monkeypatch.setattr(estimates.os, "getloadavg", lambda: (40.0, 9.0, 9.0))
    assert real() == 6.0  # at most six times
    monkeypatch.setattr(estimates.os, "getloadavg", lambda: (8.0, 8.0, 8.0))
    assert real() == 4.0
    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: False)
    busy = estimates.expected_generate(_Opened(), "gmm", None, 32)
    monkeypatch.setattr(estimates, "busy_factor", lambda: 1.0)
    quiet = estimates.expected_generate(_Opened(), "gmm", None, 32)
    assert busy.seconds == pytest.approx(4 * quiet.seconds) and busy.cached_seconds == pytest.approx(4 * quiet.cached_seconds)


def test_plain_durations():
    assert about(0.4) == "about a second"
    assert about(5) == "a few seconds"
    assert about(21) == "about 20 s"
    assert about(62) == "about a minute"
    assert about(170) == "about 3 minutes"
    assert clock(7) == "0:07" and clock(151) == "2:31" and clock(3720) == "1:02:00"


def test_notice_wording():
    e = Expected(60, first_time=True, what="fitting the gmm sampler", cached_seconds=0.3)
    assert e.long
    assert e.notice() == "first time for this model: about a minute (fitting the gmm sampler); cached afterwards"
    assert not Expected(1.0).long
    assert Expected(20).notice() == "expected to take about 20 s"
    both = Expected(20, True, "a", 1.0) + Expected(2.0)
    assert both.seconds == 22 and both.first_time and both.cached_seconds == 3.0


class _Opened:
    def __init__(self, n=9000, d=256):
        self.latents = np.zeros((n, d), np.float32)


def test_generate_depends_on_the_fit_cache(monkeypatch):
    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: False)
    first = estimates.expected_generate(_Opened(), "gmm", None, 32)
    assert first.long and first.first_time and "gmm" in first.notice() and "cached afterwards" in first.notice()
    assert not estimates.expected_generate(_Opened(), "uniform", None, 32).long
    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: True)
    again = estimates.expected_generate(_Opened(), "gmm", None, 32)
    assert not again.long and not again.first_time
    # a smaller cloud fits faster (a full-covariance mixture: points × dim²): no notice
    monkeypatch.setattr(estimates, "fit_cached", lambda *a, **k: False)
    small = estimates.expected_generate(_Opened(900, 32), "gmm", None, 32)
    assert small.seconds < first.seconds / 10 and not small.long


def test_the_sampler_fits_cache_is_asked(tiny_model):
    from engine.workflows.generate import SamplerFits, generate
    from engine.workflows.open_model import open_model

    opened = open_model(tiny_model, labels=False)
    fits = SamplerFits()
    assert not estimates.fit_cached(opened, "normal", None, fits=fits)
    generate(opened, "normal", None, 2, 0, fits=fits, decode=False)
    assert estimates.fit_cached(opened, "normal", None, fits=fits)
    assert not estimates.fit_cached(opened, "normal", None, where="Smiling=1", fits=fits)


class _Table:
    names = [f"a{i}" for i in range(40)]


def test_directions_judges_first_time(monkeypatch):
    z = np.zeros((9000, 256), np.float32)
    monkeypatch.setattr(estimates, "judges_cached", lambda z, table: False)
    first = estimates.expected_directions(z, _Table(), "ica")
    assert first.long and first.first_time and "attribute judges" in first.notice()
    monkeypatch.setattr(estimates, "judges_cached", lambda z, table: True)
    again = estimates.expected_directions(z, _Table(), "ica")
    assert not again.first_time and again.seconds < first.seconds
    assert not estimates.expected_directions(z, None, "ica").first_time  # no labels: no judges


def test_judges_cache_is_asked(tmp_path, monkeypatch):
    from engine.attributes.labels import AttributeTable
    from engine.lab import attribute_probes
    from engine.lab.probes import probes_cached

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("LFS_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    z = rng.standard_normal((60, 4)).astype(np.float32)
    table = AttributeTable(["Smiling"], np.where(z[:, :1] > 0, 1, -1), [f"{i}.png" for i in range(60)])
    if probes_cached(z, table):
        pytest.skip("the cache folder is not this test's")
    attribute_probes(z, table)
    assert probes_cached(z, table) and estimates.judges_cached(z, table)
