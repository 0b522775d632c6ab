"""The Keras format, imported without TensorFlow: ``reader`` (the .keras zip and the HDF5 file, every size bounded by
``limits`` and ``hdf5_safety`` before a weight is read) and its importer."""
from . import importer  # noqa: F401  (registers the importer)
