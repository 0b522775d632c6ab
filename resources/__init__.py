"""Data files of Latent Face Studio: models/ (the embedded default model and helper models) and icons/.

Installed (``pip install .``) this folder becomes the package ``latent_face_studio_resources``; find it with
``engine.resources.resources_dir()``, never by path.
"""
