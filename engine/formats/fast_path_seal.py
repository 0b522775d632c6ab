"""The seal of a verified fast path: what binds a cached ONNX export to the weights it was checked against.

The fast-path cache (``<cache>/onnx/<model id>-<key>/``) holds ONNX graphs exported from a native model and a
``verified.json`` marker saying that they matched torch. The cache is the user's own storage, but it is an
ordinary folder: it can be copied from another machine, shared, or edited by hand, and a marker that is only a
list of checksums can be rewritten together with the graphs. So every marker carries a seal: an HMAC-SHA256,
under this installation's own secret key, of everything the open relies on (the network key — sha256 of
``weights.safetensors`` plus the architecture —, the graphs' sha256, the onnxruntime and app versions, the
tolerance). An open uses a cached graph without torch only when the seal matches; a marker written anywhere
else, one from before the seal, one edited by hand, or graphs exported from another model never match, and the
model then opens on torch and is checked (and sealed) again.

The boundary: the key (``fast-path.key``, 32 random bytes, mode 0600) lives in the user's config folder
(``LFS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/latent-face-studio``, else ``~/.config/latent-face-studio``), not in
the cache. Whoever can read it runs code as the user already (they could change the app itself); nothing else
can make a graph run for a model whose weights it was not checked against.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Optional

KEY_NAME = "fast-path.key"
KEY_BYTES = 32


def config_dir() -> Path:
    """The user's config folder of the app (``LFS_CONFIG_DIR`` moves it, e.g. for the tests)."""
    env = os.environ.get("LFS_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "latent-face-studio"


def _read_key(path: Path) -> Optional[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        import stat

        if not stat.S_ISREG(st.st_mode) or st.st_size != KEY_BYTES or st.st_uid != os.getuid() \
                or st.st_mode & 0o077:
            return None  # not a key this installation wrote for this user alone
        data = os.read(fd, KEY_BYTES + 1)
        return data if len(data) == KEY_BYTES else None
    finally:
        os.close(fd)


def installation_key(create: bool) -> Optional[bytes]:
    """This installation's secret key; with ``create`` it is made on first use. None when it cannot be had (then
    nothing is sealed and no seal matches: the model opens on torch, as with no cache)."""
    path = config_dir() / KEY_NAME
    key = _read_key(path)
    if key is not None or not create:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{KEY_NAME}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError:
        return None
    return _read_key(path)


def _message(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(fields: dict) -> Optional[str]:
    """The seal of a marker's ``fields`` (JSON values), or None when no key can be made."""
    key = installation_key(create=True)
    return None if key is None else hmac.new(key, _message(fields), hashlib.sha256).hexdigest()


def check(fields: dict, mac) -> bool:
    """True when ``mac`` is this installation's seal of ``fields``."""
    if not isinstance(mac, str):
        return False
    key = installation_key(create=False)
    return key is not None and hmac.compare_digest(hmac.new(key, _message(fields), hashlib.sha256).hexdigest(), mac)
