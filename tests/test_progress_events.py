"""The typed events a training run reports (engine.progress.JobEvent): one EpochEnded and one
TrainingPreview per epoch, after that epoch's files are written; ordinary ticks carry no event."""
import math

import numpy as np
import pytest

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig
from engine.image_data import Preprocess, load_folder
from engine.progress import EpochEnded, JobEvent, Progress, TrainingPreview
from engine.training import TrainOptions, train

from conftest import TINY_ARCH, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))


@pytest.fixture
def faces(tmp_path):
    write_faces(tmp_path / "faces", 20, seed=4)
    return load_folder(tmp_path / "faces", PRE, cache=False)


def _train(faces, out, **kw):
    seen: list[Progress] = []
    opts = dict(epochs=2, batch_size=8, learning_rate=3e-3, val_count=4, seed=1) | kw

    def watch(p: Progress) -> None:
        if isinstance(p.event, EpochEnded):  # reported only once the epoch's checkpoint is on disk
            assert model_store.read_config(out).training["epochs_done"] == p.event.epoch
        seen.append(p)

    res = train(faces, out, ArchitectureConfig(**TINY_ARCH), TrainOptions(**opts), progress=watch)
    return res, seen


def test_a_tiny_training_reports_one_epoch_end_and_one_preview_per_epoch(faces, tmp_path):
    res, seen = _train(faces, tmp_path / "m")
    events = [p.event for p in seen if p.event is not None]
    assert all(isinstance(e, JobEvent) for e in events)
    assert [type(e) for e in events] == [EpochEnded, TrainingPreview] * 2
    assert [e.epoch for e in events] == [1, 1, 2, 2]
    ended = [e for e in events if isinstance(e, EpochEnded)]
    for i, e in enumerate(ended):
        assert e.epochs == 2
        assert math.isfinite(e.train_loss) and e.train_loss > 0
        assert e.val_loss is not None and math.isfinite(e.val_loss) and e.val_loss > 0
        assert e.seconds >= 0 and e.images_per_s > 0
        assert [h["epoch"] for h in e.history] == list(range(1, i + 2))
        assert e.history[-1]["train_loss"] == e.train_loss and e.history[-1]["val_loss"] == e.val_loss
    assert list(ended[-1].history) == res.history
    for e in (e for e in events if isinstance(e, TrainingPreview)):
        assert e.originals.shape == e.reconstructions.shape == (4, 32, 32, 3)
        assert e.originals.dtype == e.reconstructions.dtype == np.uint8
    # the records carrying an event repeat the epoch's numbers in the generic fields
    for p in seen:
        if p.event is not None:
            assert p.job == "train" and p.epoch == p.event.epoch and p.done == 2 * p.epoch and p.total == 4


def test_ordinary_ticks_carry_no_event_and_count_steps(faces, tmp_path):
    _, seen = _train(faces, tmp_path / "m")
    ticks = [p for p in seen if p.job == "train" and p.event is None]
    assert [p.done for p in ticks] == list(range(1, len(ticks) + 1))  # 16 training images, batch 8: 2 steps × 2 epochs
    assert len(ticks) == 4 and all(p.loss is not None and math.isfinite(p.loss) for p in ticks)


def test_without_a_validation_set_there_is_no_preview(faces, tmp_path):
    _, seen = _train(faces, tmp_path / "m", epochs=1, val_count=0)
    events = [p.event for p in seen if p.event is not None]
    assert [type(e) for e in events] == [EpochEnded]
    assert events[0].val_loss is None


def test_events_are_frozen_dataclasses():
    e = EpochEnded(1, 2, 0.5, None, 1.0, 10.0)
    with pytest.raises(Exception):
        e.epoch = 3  # type: ignore[misc]
    assert Progress("train", 1, 2).event is None
