"""Detector parameters: one typed settings object, loadable from a TOML file and saved in
every run's ``run.json``.

A settings file only names what it changes::

    transfer_threshold = "6000"      # yuan, exact decimal

    [card_collection]
    window_minutes = 10
    min_days = 3

Unknown sections or keys and values of the wrong type stop with a message naming the file
and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_type_hints

from graphfraud.core.errors import GraphfraudError
from graphfraud.detect import registry


@dataclass(frozen=True)
class LeadSettings:
    """Single-entity leads (线索): one card's settlements that break a rule on their own."""

    enabled: bool = True
    #: impossible_travel: the fastest ground travel, high-speed rail included (350 km/h from
    #: station to station, with no time to reach the stations): two consecutive uses of one
    #: card that a train could join are never a lead
    max_speed_kmh: float = 350.0
    #: ... and the two facilities are at least this far apart (nearby facilities are ignored:
    #: clocks of different systems disagree by minutes)
    min_travel_km: float = 100.0
    #: a flight joins two places at least ``flight_min_km`` apart in ``km / flight_kmh`` hours
    #: plus ``flight_overhead_minutes`` (to the airport, boarding, from the airport) at the
    #: least; a trip a flight explains stays a lead, scored low
    flight_kmh: float = 900.0
    flight_min_km: float = 300.0
    flight_overhead_minutes: float = 60.0
    #: split_admission: readmitted to the same facility at most this many days after discharge
    split_max_gap_days: int = 3
    #: duplicate_claim: the copies are settled within this many minutes of each other (0: any
    #: time on the same day; two real visits on one day, say two consultations, are common)
    duplicate_window_minutes: int = 5
    #: overlapping_supply: days of supply obtained beyond the days elapsed, within one run of
    #: overlapping refills of one drug on one card, at least this many days ...
    overlap_min_excess_days: int = 30
    #: ... and at least this multiple of the days elapsed
    overlap_min_ratio: float = 1.5
    #: demographic_mismatch: item code prefixes for men only (prostate drugs, ATC G04C)
    male_item_prefixes: tuple[str, ...] = ("XG04C",)
    #: item code prefixes for women only (gynaecological, progestogens, TCM gynaecology)
    female_item_prefixes: tuple[str, ...] = ("XG01", "XG02", "XG03D", "XZF01")
    #: item names marking a women-only item (for pregnant women, vaginal forms, gynaecology)
    female_item_names: tuple[str, ...] = ("孕妇", "阴道", "妇科")
    #: ICD-10 prefixes for men only (diseases of the male genital organs, their cancers)
    male_diagnosis_prefixes: tuple[str, ...] = ("N40", "N41", "N42", "N43", "N44", "N45", "N46", "N47", "N48",
                                                "N49", "N50", "N51", "C60", "C61", "C62", "C63")
    #: ICD-10 prefixes for women only (pregnancy, female genital organs and their cancers)
    female_diagnosis_prefixes: tuple[str, ...] = ("O", "Z32", "Z33", "Z34", "Z35", "Z36", "Z37", "Z39", "N7", "N8",
                                                  "N90", "N91", "N92", "N93", "N94", "N95", "N96", "N97", "N98",
                                                  "C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58", "D25",
                                                  "D26", "D27", "D28")
    #: item names marking a paediatric form (小儿…, …(儿童))
    paediatric_item_names: tuple[str, ...] = ("小儿", "儿童", "婴幼儿")
    #: a paediatric item on the card of a holder of this age or more is a mismatch
    paediatric_min_age: int = 60
    # -- the work queue (graphfraud.detect.lead_score)
    #: key drugs (重点药品) by NHSA code prefix: insulins, GLP-1 and SGLT-2 drugs, anticoagulants,
    #: albumin, antineoplastic and immunomodulating agents, nerve growth factor, sacubitril
    key_drug_prefixes: tuple[str, ...] = ("XA10A", "XA10BJ", "XA10BK", "XB01AE", "XB01AF", "XB05AA", "XL01", "XL02",
                                          "XL03", "XL04", "XN07XX", "XC09DX")
    #: a line of at least this amount (yuan) counts as a high-value drug whatever its code
    high_value_line_yuan: float = 300.0
    #: the hits of a lead worth this much (yuan) raise its score (a third of it, a little)
    high_value_yuan: float = 1000.0
    #: a single hit below this (yuan), with no key drug, lowers the score
    low_value_yuan: float = 200.0
    #: a pharmacy this close to the hospital (km) is the hospital's own pharmacy, in effect
    next_to_hospital_km: float = 1.0
    #: people sharing an address or a phone in a group no bigger than this are a household
    household_max: int = 6
    #: the queue keeps leads scoring at least this ...
    queue_min_score: float = 25.0
    #: ... at most this many of each kind ...
    queue_per_kind: int = 200
    #: ... and at most this many in all; the others stay in the workspace, counted in run.json
    queue_total: int = 1000


@dataclass(frozen=True)
class EngineSettings:
    """The co-occurrence null model and the community step shared by the detectors."""

    #: pseudo-count shrinking one day's time profile towards its context's profile
    day_shrinkage: float = 100.0
    #: pseudo-count shrinking a context's time profile towards the region's profile
    context_shrinkage: float = 100.0
    #: an edge weight (-log10 p) is capped here so one extreme pair cannot dominate a ring
    max_edge_weight: float = 30.0
    #: Leiden's quality function: "CPM" (constant Potts model: a community must be denser than
    #: ``leiden_resolution`` in edge weight per pair of members; no resolution limit, so a
    #: ring of four is not swallowed by a big neighbour) or "modularity"
    leiden_objective: str = "CPM"
    leiden_resolution: float = 1.0
    #: passes over the graph; -1: until the partition is stable (slower on big graphs). Two:
    #: on the 1M-node benchmark a third pass recovered no more planted communities (60.6 %
    #: either way) and took 11 s more (benchmarks/results/leiden_1m-*-i2-/-i3-20261124*)
    leiden_iterations: int = 2


@dataclass(frozen=True)
class SparkSettings:
    """Where ``detect --engine spark`` reads the canonical tables (docs/engines.md): a table
    named here (a catalog or Hive table, ``"medins.claims"``) is read as it is; the others from
    the canonical Parquet dataset at ``parquet`` (``<parquet>/<table>/*.parquet``, any path or
    URI Spark reads; default the workspace's ``parquet/``, used when it holds every row), else
    from a copy of the workspace's table."""

    parquet: str = ""
    patients: str = ""
    facilities: str = ""
    doctors: str = ""
    cards: str = ""
    claims: str = ""
    items: str = ""

    def catalog(self) -> dict[str, str]:
        """Canonical table -> the catalog table named for it."""
        return {name: getattr(self, name) for name in ("patients", "facilities", "doctors", "cards", "claims", "items")
                if getattr(self, name)}


@dataclass(frozen=True)
class Settings:
    #: amounts at or above this (yuan) are transferred to the police (移送公安 threshold)
    transfer_threshold: Decimal = Decimal(6000)
    #: groups scoring below this are not reported as rings (families shopping together, weak
    #: coincidences); run.json counts them by kind and explanation. 0 reports every group.
    min_score: float = 30.0
    #: seeds the community search so a run is reproducible
    seed: int = 42
    #: a ring keeps the id of the previous run's ring whose members it shares this much (Jaccard)
    id_match_jaccard: float = 0.5
    engine: EngineSettings = field(default_factory=EngineSettings)
    leads: LeadSettings = field(default_factory=LeadSettings)
    spark: SparkSettings = field(default_factory=SparkSettings)
    #: each detector's own section (``registry.Detector.settings``), by kind; a section not
    #: given has its defaults. Read them as ``settings.section(kind)`` or ``settings.<kind>``.
    sections: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def section(self, kind: str) -> Any:
        """The settings of one detector (its defaults when the detector came after these
        settings were made, e.g. a plug-in loaded later)."""
        if kind in self.sections:
            return self.sections[kind]
        return registry.settings_sections()[kind]()

    def with_section(self, kind: str, **changes: Any) -> Settings:
        """These settings with some of one detector's changed."""
        section = dataclasses.replace(self.section(kind), **changes)
        return dataclasses.replace(self, sections={**self.sections, kind: section})

    def __getattr__(self, name: str) -> Any:
        # only reached for names that are not fields: a detector's section by its kind
        if name.startswith("_") or name == "sections":
            raise AttributeError(name)
        try:
            return self.section(name)
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} has no setting or detector section {name!r}") from None

    def __post_init__(self) -> None:
        if self.engine.leiden_objective.lower() not in ("cpm", "modularity"):
            raise GraphfraudError("settings_invalid", path="-", setting="engine.leiden_objective",
                                  detail=f'expected "CPM" or "modularity", got {self.engine.leiden_objective!r}')
        # every detector's section is present, so two settings that mean the same are equal
        given = dict(self.sections)
        full = {kind: given.pop(kind, None) or cls() for kind, cls in registry.settings_sections().items()}
        object.__setattr__(self, "sections", {**full, **given})

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the general settings, the engine's, each detector's section in the
        order the detectors run, then the leads'."""
        out = _plain(dataclasses.asdict(self))
        del out["sections"]
        leads = out.pop("leads")
        for kind in registry.settings_sections():
            out[kind] = _plain(dataclasses.asdict(self.section(kind)))
        out["leads"] = leads
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<settings>") -> Settings:
        if not isinstance(data, dict):
            return _build(cls, data, source, "")
        plugins = registry.settings_sections()
        own = {k: v for k, v in data.items() if k not in plugins}
        sections = {k: _build(plugins[k], v, source, k + ".") for k, v in data.items() if k in plugins}
        return dataclasses.replace(_build(cls, own, source, "", also=tuple(plugins)), sections=sections)

    @classmethod
    def load(cls, path: str | Path | None) -> Settings:
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GraphfraudError("settings_missing", path=str(path)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise GraphfraudError("settings_invalid", path=str(path), setting="-", detail=str(exc)) from None
        return cls.from_dict(data, str(path))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _build(cls: type, data: dict[str, Any], source: str, prefix: str, also: tuple[str, ...] = ()):
    if not isinstance(data, dict):
        raise GraphfraudError("settings_invalid", path=source, setting=prefix.rstrip(".") or "-",
                              detail="expected a table")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - {"sections"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in names:
            raise GraphfraudError("settings_invalid", path=source, setting=where,
                                  detail="unknown setting; known: " + ", ".join(sorted(names | set(also))))
        kwargs[key] = _coerce(hints[key], value, source, where)
    return cls(**kwargs)


def _coerce(kind: Any, value: Any, source: str, where: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, source, where + ".")

    def bad(expected: str) -> GraphfraudError:
        return GraphfraudError("settings_invalid", path=source, setting=where, detail=f"expected {expected}, got {value!r}")

    if kind is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind is Decimal:
        # money is given as a string (or an integer) so it stays exact; a TOML float would not
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise bad('an amount as a string such as "6000" or "6000.00"')
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise bad("an amount") from None
        if not amount.is_finite() or amount < 0:
            raise bad("a non-negative amount")
        return amount
    if getattr(kind, "__origin__", None) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    raise bad(str(kind))  # pragma: no cover - every field type is handled above
