"""The detectors: every module of ``graphfraud.detect`` that declares ``DETECTOR``.

A ring detector is one module. It declares what the rest of graphfraud needs to know about
it in one ``Detector``: its kind, the two-letter prefix of its ring ids, its name in Chinese
and English, the reason texts it uses, its settings section, where it runs in the order, and
the function that finds its rings. Detection, the report, the case pages, the evidence
packages, Neo4j and the command line take the list from here, so adding a detector touches
no other file:

    # graphfraud/detect/my_kind.py
    DETECTOR = Detector(kind="my_kind", prefix="MK", name={"zh": "……", "en": "my kind"},
                        run=detect, reasons={"mk_signal": ("……{n}……", "... {n} ...")},
                        settings=MyKindSettings)   # a frozen dataclass with ``enabled``

The modules are found when the list is first asked for (not when this module is imported),
so that detector modules can import ``Settings``, which imports this module to find their
sections.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphfraud.core.i18n import register_texts

#: where the detectors live
PACKAGE = "graphfraud.detect"
_PREFIX = re.compile(r"^[A-Z]{2}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Detector:
    kind: str
    #: two capital letters: ring ids are ``<prefix>-<10 hex digits>``
    prefix: str
    #: {"zh": ..., "en": ...}
    name: Mapping[str, str]
    #: ``run(con, settings, rings_found_so_far) -> DetectorResult``
    run: Callable[[Any, Any, list], Any]
    #: reason code -> (zh, en) template, for ``model.reason``
    reasons: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: the dataclass of its ``[kind]`` settings section (frozen, with an ``enabled`` flag); None
    #: when the detector has no settings (it always runs)
    settings: type | None = None
    #: detectors run in ascending order (ties by kind); one that reads the rings found
    #: before it (shared identities) runs last
    order: int = 60


_LOADED: dict[str, Detector] = {}


def detectors() -> tuple[Detector, ...]:
    """Every detector, in the order they run."""
    if not _LOADED:
        _load()
    return tuple(sorted(_LOADED.values(), key=lambda d: (d.order, d.kind)))


def get(kind: str) -> Detector:
    detectors()
    return _LOADED[kind]


def kinds() -> tuple[str, ...]:
    return tuple(d.kind for d in detectors())


def prefixes() -> dict[str, str]:
    """Ring kind -> id prefix."""
    return {d.kind: d.prefix for d in detectors()}


def kind_name(kind: str, lang: str) -> str:
    """The name of a ring kind in ``lang`` (the kind itself when no detector declares it,
    e.g. a kind of an older run whose detector is gone)."""
    detectors()
    d = _LOADED.get(kind)
    return d.name[lang] if d is not None else kind


def settings_sections() -> dict[str, type]:
    """Each detector's settings section (its dataclass), by kind, in the order they run."""
    return {d.kind: d.settings for d in detectors() if d.settings is not None}


def _load() -> None:
    package = importlib.import_module(PACKAGE)
    found: dict[str, Detector] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        d = getattr(module, "DETECTOR", None)
        if not isinstance(d, Detector):
            continue
        _check(d, found, module.__name__)
        found[d.kind] = d
    model = importlib.import_module(f"{PACKAGE}.model")
    for d in found.values():
        register_texts({f"kind.{d.kind}": dict(d.name)})
        model.register_reasons(d.reasons, d.kind)
    _LOADED.update(found)


def _check(d: Detector, found: dict[str, Detector], where: str) -> None:
    problems = []
    if not _KIND.match(d.kind):
        problems.append(f"kind {d.kind!r} is not lower_case")
    if not _PREFIX.match(d.prefix):
        problems.append(f"prefix {d.prefix!r} is not two capital letters")
    if d.kind in found:
        problems.append(f"kind {d.kind!r} is declared twice")
    clash = [k for k, o in found.items() if o.prefix == d.prefix]
    if clash:
        problems.append(f"prefix {d.prefix} is already {clash[0]}'s")
    if set(d.name) != {"zh", "en"} or not all(d.name.values()):
        problems.append("name needs a zh and an en text")
    for code, texts in d.reasons.items():
        if len(texts) != 2 or not all(texts):
            problems.append(f"reason {code} needs a zh and an en text")
    if problems:
        raise ValueError(f"{where}: " + "; ".join(problems))
