"""The use cases of the app, one module each: what ``main.py`` and the GUI call.

Each workflow takes its inputs, a progress callback and a cancel token (``engine.progress``) and
returns a dataclass; ``main.py`` and ``gui/`` only parse input and render output. The building
blocks they combine (model formats, samplers, statistics, attributes, files) live beside this
package in ``engine/``; see docs/architecture.md.
"""
