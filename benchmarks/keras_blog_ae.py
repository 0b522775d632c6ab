"""Issue 14's proof: a blog-style convolutional autoencoder built and trained in Keras 3 (torch backend), saved as
``.keras`` and legacy ``.h5``, imported with ``python main.py import``, encoded, generated from — and checked.

The network follows the seed blog ("Autoencoders and latent space fragmentation", and D. Foster's "Generative
Deep Learning", 1st ed., which it builds on): 4 Conv2D (stride 2) in the encoder, a Dense bottleneck of
z_dim = 256, 4 Conv2DTranspose (stride 2) in the decoder, LeakyReLU, no batch normalization, a final sigmoid,
64×64×3 faces, MSE loss, Adam — saved as ONE model, so the importer has to split it at the bottleneck.

    KERAS_BACKEND=torch python benchmarks/keras_blog_ae.py [--work /tmp/keras-blog-ae] [--budget-s 600]
        [--data /work/shared/datasets/celeba-9k/img_align_celeba] [--threads 2] [--skip-train]

Trains on the first 8,500 files (by name) for as many epochs as fit in ``--budget-s`` (the loss of every epoch is
printed), then runs ``import`` (from the .keras and from the .h5), ``encode`` (all images), ``info`` and
``generate --sampler normal --n 32`` through main.py, and measures: z and decoded images of the imported model vs
Keras' own predictions on 64 images (max abs difference), reconstruction MSE on the 500 held-out images (the last
500 by name), and encode images/s. Everything is written under ``--work`` (never into the repository: the weights
and the faces stay out of it).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = "/work/shared/datasets/celeba-9k/img_align_celeba"
N_TRAIN = 8500
N_HELD_OUT = 500
N_CHECK = 64


def build_blog_ae(z_dim: int = 256, size: int = 64):
    """One Keras functional model: encoder (4 × Conv2D stride 2 + LeakyReLU → Flatten → Dense z) and decoder
    (Dense → Reshape → 3 × Conv2DTranspose stride 2 + LeakyReLU → Conv2DTranspose stride 2 + sigmoid)."""
    import keras
    from keras import layers

    x_in = keras.Input(shape=(size, size, 3), name="encoder_input")
    x = x_in
    for i, f in enumerate((32, 64, 128, 256)):
        x = layers.Conv2D(f, 3, strides=2, padding="same", name=f"enc_conv_{i}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"enc_lrelu_{i}")(x)
    s = size // 16
    x = layers.Flatten(name="flatten")(x)
    z = layers.Dense(z_dim, name="z")(x)
    y = layers.Dense(s * s * 256, name="dec_dense")(z)
    y = layers.LeakyReLU(negative_slope=0.2, name="dec_lrelu_dense")(y)
    y = layers.Reshape((s, s, 256), name="reshape")(y)
    for i, f in enumerate((128, 64, 32)):
        y = layers.Conv2DTranspose(f, 3, strides=2, padding="same", name=f"dec_convT_{i}")(y)
        y = layers.LeakyReLU(negative_slope=0.2, name=f"dec_lrelu_{i}")(y)
    y = layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="sigmoid", name="dec_convT_out")(y)
    return keras.Model(x_in, y, name="blog_ae")


def halves(model):
    """Keras' own encoder and decoder (sharing the trained layers) for reference predictions."""
    import keras

    enc = keras.Model(model.input, model.get_layer("z").output)
    z_in = keras.Input(shape=(model.get_layer("z").output.shape[-1],))
    y = z_in
    started = False
    for layer in model.layers:
        if started:
            y = layer(y)
        if layer.name == "z":
            started = True
    return enc, keras.Model(z_in, y)


def cli(*args) -> tuple[str, float]:
    cmd = [sys.executable, str(ROOT / "main.py"), *map(str, args)]
    print("$ python main.py " + " ".join(map(str, args)), flush=True)
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    dt = time.perf_counter() - t
    out = (r.stdout + r.stderr).strip()
    print("\n".join("    " + line for line in out.splitlines()[-25:]), flush=True)
    print(f"    (exit {r.returncode}, {dt:.1f} s)", flush=True)
    if r.returncode != 0:
        raise SystemExit(f"main.py {args[0]} failed with exit code {r.returncode}")
    return out, dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/keras-blog-ae")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--budget-s", type=float, default=600.0, help="training wall time")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-train", action="store_true", help="reuse WORK/blog_ae.keras")
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(a.threads)
    import keras

    from engine.image_data import Preprocess, load_folder
    from engine.formats.onnx.codec import OnnxAutoencoderCodec

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"keras {keras.__version__} on {keras.backend.backend()}, torch {torch.__version__}, {a.threads} threads")

    ds = load_folder(a.data, Preprocess(image_size=64))
    order = np.argsort(np.asarray(ds.files))
    images = np.asarray(ds.images)[order]
    files = [ds.files[i] for i in order]
    if len(files) < N_TRAIN + N_HELD_OUT:
        raise SystemExit(f"{a.data}: {len(files)} images; need {N_TRAIN + N_HELD_OUT}")
    train = images[:N_TRAIN].astype(np.float32) / 255.0
    held = images[-N_HELD_OUT:]
    print(f"data: {len(files)} images ({files[0]} … {files[-1]}); training on {files[0]} … {files[N_TRAIN - 1]}, "
          f"held out {files[-N_HELD_OUT]} … {files[-1]}")

    keras_path, h5_path = work / "blog_ae.keras", work / "blog_ae.h5"
    if a.skip_train:
        model = keras.saving.load_model(keras_path)
    else:
        keras.utils.set_random_seed(0)
        model = build_blog_ae()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=5e-4), loss="mse")
        print(f"model: {model.count_params():,} parameters, {len(model.layers)} layers")
        t0 = time.perf_counter()
        epoch, last = 0, 0.0
        while True:
            te = time.perf_counter()
            h = model.fit(train, train, batch_size=a.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                          shuffle=True, verbose=0)
            epoch += 1
            last = time.perf_counter() - te
            elapsed = time.perf_counter() - t0
            print(f"epoch {epoch}: loss (MSE) {h.history['loss'][-1]:.5f}  ({last:.0f} s, {elapsed:.0f} s total)",
                  flush=True)
            if elapsed + last > a.budget_s:
                break
        print(f"trained {epoch} epochs in {time.perf_counter() - t0:.0f} s")
        model.save(keras_path)
        model.save(h5_path)  # legacy HDF5 (Keras warns that it is legacy: that is the point)
    print(f"saved {keras_path} ({keras_path.stat().st_size / 1e6:.1f} MB), {h5_path} ({h5_path.stat().st_size / 1e6:.1f} MB)")

    # ---- the app's commands -------------------------------------------------------------------------------------
    imported, imported_h5 = work / "imported", work / "imported-h5"
    for folder, src in ((imported, keras_path), (imported_h5, h5_path)):
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        cli("import", "--model-file", src, "--out", folder, "--framing", "celeba")
    _, enc_wall = cli("encode", "--model", imported, "--data", a.data)
    cli("info", "--model", imported)
    gen = work / "generated"
    cli("generate", "--model", imported, "--sampler", "normal", "--n", 32, "--out", gen, "--overwrite")

    # ---- Keras vs imported ----------------------------------------------------------------------------------------
    codec = OnnxAutoencoderCodec.open(imported)
    codec_h5 = OnnxAutoencoderCodec.open(imported_h5)
    enc, dec = halves(model)
    x = images[-N_CHECK:].astype(np.float32) / 255.0
    z_k = np.asarray(enc.predict(x, verbose=0))
    y_k = np.asarray(dec.predict(z_k, verbose=0))
    full_k = np.asarray(model.predict(x, verbose=0))
    xi = codec.to_model_values(images[-N_CHECK:])
    z_i = codec.encode_raw(xi)
    y_i = codec.decode_raw(z_k)
    full_i = codec.decode_raw(z_i)
    if codec.config.channel_order == "nchw":
        y_i, full_i = y_i.transpose(0, 2, 3, 1), full_i.transpose(0, 2, 3, 1)
    def u8(y):  # NHWC floats in [0, 1] → the faces the app shows
        return (np.clip(y, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    print(f"Keras vs imported ({N_CHECK} held-out images): max |Δz| {np.abs(z_k - z_i).max():.2e} "
          f"(|z| up to {np.abs(z_k).max():.2f}); decoder on Keras' z: max |Δ| {np.abs(y_k - y_i).max():.2e}; "
          f"whole model: max |Δ| {np.abs(full_k - full_i).max():.2e}; uint8 face values differing: "
          f"{int((u8(y_k) != u8(y_i)).sum())} of {y_k.size}")
    z_h5 = codec_h5.encode_raw(codec_h5.to_model_values(images[-N_CHECK:]))
    print(f".h5 import vs .keras import: max |Δz| {np.abs(z_h5 - z_i).max():.2e}")

    # the latents main.py encode wrote vs Keras' z
    lat = np.load(imported / "latents.npy")
    names = (imported / "latents_files.txt").read_text().split()
    idx = [names.index(f) for f in files[-N_CHECK:]]
    print(f"encode wrote {lat.shape[0]} z-vectors of {lat.shape[1]}; vs Keras: max |Δz| {np.abs(lat[idx] - z_k).max():.2e}")

    # ---- held-out reconstruction --------------------------------------------------------------------------------
    hx = held.astype(np.float32) / 255.0
    rec_k = np.asarray(model.predict(hx, verbose=0))
    rec_i = codec.decode_raw(codec.encode_raw(codec.to_model_values(held)))
    if codec.config.channel_order == "nchw":
        rec_i = rec_i.transpose(0, 2, 3, 1)
    rec_u8 = codec.decode_batch(codec.encode_batch(held)).astype(np.float32) / 255.0
    print(f"held-out MSE ({N_HELD_OUT} images, pixels in [0,1]): imported {np.mean((rec_i - hx) ** 2):.5f}, "
          f"Keras {np.mean((rec_k - hx) ** 2):.5f}, imported uint8 faces {np.mean((rec_u8 - hx) ** 2):.5f}")
    train_s = images[:N_HELD_OUT]
    rec_t = codec.decode_batch(codec.encode_batch(train_s)).astype(np.float32) / 255.0
    print(f"training-image MSE (first {N_HELD_OUT}, uint8 faces): {np.mean((rec_t - train_s / 255.0) ** 2):.5f}")

    # ---- speed --------------------------------------------------------------------------------------------------
    print(f"main.py encode: {len(names)} images in {enc_wall:.1f} s wall (process start, image loading included) "
          f"= {len(names) / enc_wall:.0f} images/s")
    for bs in (1, 32, 256):
        n = 256 if bs == 1 else 2048
        batch = images[:n]
        codec.encode_batch(batch[:bs])
        t = time.perf_counter()
        for i in range(0, n, bs):
            codec.encode_batch(batch[i : i + bs])
        dt = time.perf_counter() - t
        zz = codec.encode_batch(batch[:n])
        t2 = time.perf_counter()
        for i in range(0, n, bs):
            codec.decode_batch(zz[i : i + bs])
        dt2 = time.perf_counter() - t2
        print(f"imported model, ONNX Runtime, batch {bs}: encode {n / dt:.0f} images/s, decode {n / dt2:.0f} images/s")
    print(f"generated: {sorted(p.name for p in gen.iterdir())[:6]} … in {gen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
