"""A cache of trained models and parsed data, keyed by a hash of the config that made them.

Layout: ``<cache>/<name>-<hash>.pt`` where ``<cache>`` is ``~/.cache/scratch-to-chat`` unless
the environment variable ``COURSE_CACHE`` names another folder, and ``<hash>`` covers the
config, the run mode *and* the source of this package, so an artifact trained with FAST sizes is
never served to a full run, and one trained by an older version of the code is never served to a
newer one (after ``git pull`` the models are retrained once; old files can be deleted by hand).

Files are written atomically (a temporary file, then ``os.replace``) and read with
``torch.load(weights_only=True)``, which only unpickles tensors and plain containers
(dict, list, tuple, str, int, float, bool, None): no code runs when a file is loaded.
A file that cannot be read is reported, deleted and rebuilt; it is never used silently.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from .config import is_fast

CACHE_ENV = "COURSE_CACHE"


class CorruptArtifactError(RuntimeError):
    """An artifact file exists but cannot be loaded."""


def cache_dir() -> Path:
    """The cache folder (created if missing)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "scratch-to-chat"
    path = Path(root).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(
            f"cannot create the cache folder {path}: {err}. Set {CACHE_ENV} to a writable folder."
        ) from err
    return path


def _plain(config: Any) -> Any:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return config


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of every ``.py`` file of ``course_utils``: the code that builds the artifacts.

    Any change to the package (a training loop, a default, a bug fix) changes every key, which is
    coarse but safe: working out which edit affects which artifact is exactly where stale models
    would slip through.
    """
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_hash(config: Any, length: int = 12, per_mode: bool = True) -> str:
    """A short hex digest of ``config`` (a dict or dataclass of JSON-able values) and the code.

    With ``per_mode`` (the default) the FAST/full mode is part of the key, so the two modes
    never share an artifact; data that does not depend on the mode passes ``per_mode=False``.
    :func:`code_version` is always part of the key. Key order does not matter; a value JSON
    cannot encode raises ``TypeError``.
    """
    plain = _plain(config)
    if not isinstance(plain, dict):
        raise TypeError(f"config must be a dict or a dataclass instance, got {type(config).__name__}")
    keyed = {"config": plain, "fast": is_fast() if per_mode else None, "code": code_version()}
    try:
        text = json.dumps(keyed, sort_keys=True, separators=(",", ":"))
    except TypeError as err:
        raise TypeError(f"config values must be JSON-serialisable: {err}") from err
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def artifact_path(name: str, config: Any, per_mode: bool = True) -> Path:
    """Where the artifact ``name`` built from ``config`` lives."""
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ "):
        raise ValueError(f"artifact name must be a non-empty word without slashes or spaces, got {name!r}")
    return cache_dir() / f"{name}-{config_hash(config, per_mode=per_mode)}.pt"


def _atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` with ``torch.save`` atomically: readers see the old file or the new one."""
    return _atomic_write(path, lambda f: torch.save(obj, f))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 atomically (for artifacts kept in a readable format, like JSON)."""
    return _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def load(path: str | os.PathLike) -> Any:
    """Load a file written by :func:`save` (``weights_only=True``).

    Raises ``FileNotFoundError`` if it is missing and :class:`CorruptArtifactError` if it
    cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no artifact at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, wrong format, disallowed pickle, ...
        raise CorruptArtifactError(
            f"{path} exists but cannot be loaded ({type(err).__name__}: {err}). "
            "Delete it and it will be rebuilt."
        ) from err


def get_or_build(name: str, config: Any, build: Callable[[], Any], per_mode: bool = True) -> Any:
    """Return the cached artifact for (name, config), building and saving it if needed.

    ``build()`` is called with no arguments and must return something :func:`save` can write
    and ``weights_only`` can read back (tensors, state dicts, plain containers).
    A corrupt cached file is reported with a warning, removed, and rebuilt.
    """
    path = artifact_path(name, config, per_mode=per_mode)
    if path.exists():
        try:
            return load(path)
        except CorruptArtifactError as err:
            warnings.warn(f"{err} Rebuilding it now.", stacklevel=2)
            path.unlink(missing_ok=True)
    obj = build()
    save(obj, path)
    return obj
