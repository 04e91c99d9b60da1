"""The one way code reaches the top-level ``cypher/``, ``loaders/`` and ``viz/`` folders.

In a checkout (or an editable install) they sit beside the package; in a wheel they are
mapped into ``graphfraud/_assets/`` at build time (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

ASSET_DIRS = ("cypher", "loaders", "viz")
_PACKAGE = Path(__file__).resolve().parents[1]  # the graphfraud package


def asset_dir(name: str) -> Path:
    """Return the folder of one asset kind (``cypher``, ``loaders`` or ``viz``).

    >>> asset_dir("loaders").joinpath("canonical.toml").is_file()
    True
    """
    if name not in ASSET_DIRS:
        raise ValueError(f"unknown asset folder {name!r}; expected one of {ASSET_DIRS}")
    for candidate in (_PACKAGE / "_assets" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"graphfraud asset folder {name!r} is missing from this install")


def asset_path(name: str, *parts: str) -> Path:
    """Path of one file inside an asset folder, e.g. ``asset_path("loaders", "nhsa_zh.toml")``."""
    path = asset_dir(name).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"graphfraud asset {name}/{'/'.join(parts)} is missing")
    return path
