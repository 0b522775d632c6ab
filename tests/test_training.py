import json

import numpy as np
import pytest
import torch

from engine.formats import native as model_store
from engine.autoencoder import ArchitectureConfig
from engine.encoding import encode_dataset, mse, reconstruct_images
from engine.errors import Cancelled, EngineError, FolderHoldsModel
from engine.image_data import Preprocess, load_folder
from engine.progress import CancelToken, EpochEnded, TrainingPreview
from engine.training import TrainOptions, train

from conftest import TINY_ARCH, write_faces

PRE = Preprocess(image_size=32, reference_size=(48, 48), crop_box=(0, 0, 48, 48))


@pytest.fixture
def small_data(tmp_path):
    write_faces(tmp_path / "faces", 40, seed=3)
    return load_folder(tmp_path / "faces", PRE, cache=False)


def test_training_lowers_the_loss_and_reports_progress(small_data, tmp_path):
    seen = []
    res = train(small_data, tmp_path / "m", ArchitectureConfig(**TINY_ARCH),
                TrainOptions(epochs=4, batch_size=4, learning_rate=3e-3, val_count=4), progress=seen.append)
    losses = [h["train_loss"] for h in res.history]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.95
    assert res.history[-1]["val_loss"] is not None
    epoch_ends = [p for p in seen if isinstance(p.event, EpochEnded)]
    assert len(epoch_ends) == 4
    preview = [p.event for p in seen if isinstance(p.event, TrainingPreview)][-1]
    assert preview.originals.shape == preview.reconstructions.shape == (4, 32, 32, 3)
    assert seen[-1].done == seen[-1].total
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["training"]["epochs_done"] == 4 and cfg["training"]["val_images"] == 4


def test_resume_continues_epochs_and_weights(small_data, tmp_path):
    arch = ArchitectureConfig(**TINY_ARCH)
    opts = dict(batch_size=8, learning_rate=3e-3, val_count=4, seed=5)
    # uninterrupted: 3 epochs
    full = train(small_data, tmp_path / "full", arch, TrainOptions(epochs=3, **opts))
    # interrupted after 2 epochs (cancel during epoch 3), then resumed
    token = CancelToken()

    def cancel_in_third(p):
        if p.epoch == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        train(small_data, tmp_path / "part", arch, TrainOptions(epochs=3, **opts), progress=cancel_in_third, cancel=token)
    cfg = model_store.read_config(tmp_path / "part")
    assert cfg.training["epochs_done"] == 2
    resumed = train(small_data, tmp_path / "part", None, TrainOptions(epochs=3, **opts), resume=True)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[2]["train_loss"] == pytest.approx(full.history[2]["train_loss"], rel=1e-3)
    a, _ = model_store.load_model(tmp_path / "full")
    b, _ = model_store.load_model(tmp_path / "part")
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v, rtol=1e-3, atol=1e-4)


def test_training_twice_into_one_folder_is_refused(small_data, tmp_path):
    arch = ArchitectureConfig(**TINY_ARCH)
    train(small_data, tmp_path / "m", arch, TrainOptions(epochs=1, batch_size=8, val_count=4))
    with pytest.raises(FolderHoldsModel) as info:
        train(small_data, tmp_path / "m", arch, TrainOptions(epochs=1, batch_size=8, val_count=4))
    assert info.value.path == tmp_path / "m" and "use --resume" in info.value.render(lambda p: "--" + p.replace("_", "-"))


def test_train_leaves_the_callers_options_as_given(small_data, tmp_path):
    opts = TrainOptions(epochs=1, batch_size=8, val_count=None)
    before = opts.to_dict()
    train(small_data, tmp_path / "m", ArchitectureConfig(**TINY_ARCH), opts)
    assert opts.to_dict() == before and opts.val_count is None


def test_encode_gives_n_by_zdim_and_trained_beats_untrained(tiny_model, tiny_data):
    z, files = model_store.load_latents(tiny_model, 8)
    assert z.shape == (96, 8) and files[0] == "000001.png"
    model, cfg = model_store.load_model(tiny_model)
    ds = load_folder(tiny_data, cfg.preprocess, cache=False)
    images = np.asarray(ds.images)
    trained = mse(images, reconstruct_images(model, images))
    from engine.autoencoder import ConvAutoencoder

    torch.manual_seed(0)
    untrained = mse(images, reconstruct_images(ConvAutoencoder(cfg.arch).eval(), images))
    assert trained < untrained * 0.8


def test_cancelled_encode_keeps_previous_latents(tiny_model, tiny_data):
    before = (tiny_model / "latents.npy").read_bytes()
    model, cfg = model_store.load_model(tiny_model)
    ds = load_folder(tiny_data, cfg.preprocess, cache=False)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        encode_dataset(tiny_model, ds, model=model, cancel=token)
    assert (tiny_model / "latents.npy").read_bytes() == before
