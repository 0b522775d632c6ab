"""Latent Face Studio engine: everything that computes, with no Qt.

The CLI (main.py), the tests and the GUI all call this package the same way. Heavy
imports (torch, scipy, scikit-learn) happen inside the modules that need them, so
``import engine`` itself is cheap.
"""

__version__ = "0.1.0"
APP_NAME = "Latent Face Studio"
