"""Latent Face Studio's Python API: the studio from a notebook or a script.

    import latent_face_studio as lfs

    model = lfs.open_model()                       # the default model (or a model folder)
    faces = model.generate(16, sampler="normal", seed=0)
    faces                                          # in Jupyter: the grid of faces
    smiling = model.move(faces, attribute="Smiling", amount=1.5)
    photo = model.place_photo("me.jpg")            # framed, encoded, placed in the cloud
    faces.save("out/normal-16")                    # the same image set as `main.py generate`

Everything here calls the engine's workflows (the same ones the window and the command line call), so a result
is the one they give for the same inputs, byte for byte. Names listed in ``__all__`` are the stable interface
(``docs/api.md``); anything else may change.
"""
from __future__ import annotations

from .api import Faces, Model, Photo, open_model, samplers

__all__ = ["Faces", "Model", "Photo", "open_model", "samplers", "API_VERSION"]

#: The version of this interface (a change that breaks a script raises it).
API_VERSION = 1
