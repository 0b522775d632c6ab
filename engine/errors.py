"""Exceptions the engine raises for bad input; their message is meant for the user."""


class EngineError(Exception):
    """A problem the user can fix: the message names the file and the problem."""


class DataError(EngineError):
    """A dataset folder or image list cannot be used."""


class ModelFileError(EngineError):
    """A model folder or one of its files is missing, damaged or does not match."""


class SamplerError(EngineError):
    """An unknown sampler, parameter or an out-of-range value."""


class Cancelled(Exception):
    """Raised inside a long job when its cancel token was set; earlier results stay intact."""
