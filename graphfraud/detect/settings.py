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
class CardCollectionSettings:
    """聚敛盗刷: cards settled at the same pharmacy (or a terminal shared by several
    facilities) within minutes of each other on many distinct days."""

    enabled: bool = True
    window_minutes: int = 10
    #: a pair must co-occur on at least this many distinct days
    min_days: int = 3
    #: and beat chance by at least this much (-log10 of the Poisson tail probability)
    min_significance: float = 4.0
    #: distinct card holders a ring needs (one person's card and e-voucher count once)
    min_members: int = 3
    #: only settlements at facilities of these types are considered
    facility_types: tuple[str, ...] = ("pharmacy",)
    #: claim types considered when the facility type is unknown
    claim_types: tuple[str, ...] = ("pharmacy",)
    #: holders of this age or more count as elderly in reasons and scores
    elderly_age: int = 60
    #: two communities are one ring when their cards met on at least this many distinct days
    #: covering at least this share of the pairs between them: a broker swipes only part of
    #: the stack each session, so not every pair of cards meets often enough on its own
    merge_min_days: int = 2
    merge_min_cover: float = 0.5
    #: a card meeting a reported ring's cards (any of them) on ``min_days`` distinct days joins
    #: it when that is this far beyond chance (-log10 p, against all the members together)
    absorb_significance: float = 4.0


@dataclass(frozen=True)
class CohortAdmissionSettings:
    """虚假住院: people admitted to one facility within days of each other with similar
    lengths of stay, again and again: a recruiter's pool, admitted in batches month after month.
    The diagnosis may vary (a scheme bills a small set of them), so it is not part of the
    match; the rounds of one scheme are one ring."""

    enabled: bool = True
    #: a batch is admitted over a few days: two admissions at most this many days apart meet
    window_days: int = 2
    los_tolerance_days: int = 3
    #: co-admissions on at least this many distinct dates
    min_days: int = 2
    #: lower than for settlements: a pair of people is admitted a few times a year at most, so
    #: one pair's evidence is thin; a cohort's strength shows in the whole group
    min_significance: float = 1.3
    min_members: int = 3
    elderly_age: int = 60
    #: two communities at one facility are one scheme when their members met (were admitted
    #: together) on at least this many distinct days ...
    merge_min_days: int = 2
    #: ... covering at least this share of the pairs between them (the pool rotates: not
    #: everyone meets everyone)
    merge_min_cover: float = 0.25
    #: members with at least this many outpatient visits at the facility outside the stays
    #: are its regular patients ...
    history_min_visits: int = 2
    #: ... and when they are at least this share of a group, it is a ward's regulars (dialysis,
    #: rehabilitation), not a recruited pool: its score keeps 30 %
    history_share: float = 0.6
    #: a scheme's diagnoses are this many times more concentrated (sum of squared shares) than
    #: as many random stays of the facility would be; a group whose diagnoses are the
    #: facility's usual mix keeps half its score
    min_dx_focus: float = 1.5


@dataclass(frozen=True)
class DrugResaleSettings:
    """药品倒卖: cards obtaining a drug far beyond its days of supply, tied together by the
    doctors who prescribed it, the pharmacies that dispensed it, phones and addresses."""

    enabled: bool = True
    #: NHSA drug-code prefixes of the key drugs watched (重点药品); empty: every drug with a
    #: days-of-supply
    key_drugs: tuple[str, ...] = ()
    #: a card has excess supply of a drug when the days of supply obtained before its last
    #: purchase exceed the days elapsed by at least this many days ...
    min_excess_days: int = 30
    #: ... and are at least this multiple of the days elapsed
    min_ratio: float = 1.5
    #: the co-occurrence engine links two such cards that got the same drug from the same
    #: doctor within this many days of each other on at least ``min_days`` distinct days
    window_days: int = 3
    min_days: int = 3
    min_significance: float = 2.0
    #: a dense block is a ring with at least this many cards ...
    min_cards: int = 3
    #: ... and a density (edge weight per node) of at least this much
    min_density: float = 0.8
    #: each peeling round removes every node whose weighted degree is within this factor of the
    #: block's average (a vectorised greedy peeling; 0 would peel one node at a time)
    peel_epsilon: float = 0.05
    #: a card not kept by the peeling joins the block when at least this share of its tie weight
    #: goes to the block's ties, through two ties or more
    absorb_share: float = 0.5
    #: the number of blocks taken out of one connected part of the graph at most
    max_blocks: int = 50


@dataclass(frozen=True)
class TraceCodeReuseSettings:
    """追溯码重复: drug traceability codes dispensed on more than one settlement."""

    enabled: bool = True
    #: a loop is reported with at least this many codes dispensed again ...
    min_codes: int = 1
    #: ... on at least this many cards (a double scan at the till is one code, one or two cards,
    #: and scores below min_score)
    min_cards: int = 2
    #: two dispensings of one code at one pharmacy this close (minutes) are one box scanned
    #: twice at the till, not a box that came back
    rescan_minutes: int = 30
    #: a code dispensed more often than this is not one box (a placeholder or a product code
    #: scanned for every box): counted in run.json as a data-quality finding, not a loop
    max_uses: int = 12


@dataclass(frozen=True)
class DoctorPharmacySettings:
    """医药串通: one doctor's prescriptions filled at one pharmacy far more than peers' are."""

    enabled: bool = True
    #: fills of the doctor's prescriptions at the pharmacy
    min_fills: int = 20
    #: share of the doctor's fills that went to the pharmacy
    min_share: float = 0.35
    #: -log10 p of that many fills given what the alternatives predict
    min_significance: float = 6.0
    #: the odds of a fill going there are at least this multiple of what the alternatives
    #: predict (share / (1 - share) against expected / (1 - expected)) ...
    min_odds_ratio: float = 3.0
    #: ... and the share exceeds the expected one by this much (share points)
    min_excess_share: float = 0.2
    #: the pharmacies a patient of the facility could reach: those within this distance (km)
    #: of the facility (the nearest three when none is)
    near_km: float = 5.0
    #: the facility's other doctors' share is shrunk towards the pharmacies within reach with
    #: this many pseudo-fills (a facility with few other doctors says little)
    peer_shrinkage: float = 50.0
    #: a patient with at least this many other purchases, most of them at the pharmacy, would
    #: fill there anyway: their own share is the expectation when it is higher
    own_min_buys: int = 3
    #: a card is listed in the ring with at least this many such fills, at most max_cards cards
    min_card_fills: int = 2
    max_cards: int = 40
    #: not reported when this share of the fills comes from patients who buy most of everything
    #: else at that pharmacy too (they live there; nobody steered them)
    max_habit_share: float = 0.5


@dataclass(frozen=True)
class SharedIdentitySettings:
    """共用身份: a phone or address shared far beyond a household, by people whose cards do
    something suspicious."""

    enabled: bool = True
    #: people registered with one phone or address to make it a hub (a household is smaller)
    min_people: int = 6
    #: hub members with suspicious activity needed to report the hub
    min_suspicious_people: int = 3
    #: a purchase of a whole number of hundreds of yuan, at least this much, is "round"
    round_amount_min: int = 100
    #: round purchases that make a card's activity suspicious (any refund or other ring does)
    min_round_buys: int = 3


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
    card_collection: CardCollectionSettings = field(default_factory=CardCollectionSettings)
    cohort_admission: CohortAdmissionSettings = field(default_factory=CohortAdmissionSettings)
    drug_resale: DrugResaleSettings = field(default_factory=DrugResaleSettings)
    trace_code_reuse: TraceCodeReuseSettings = field(default_factory=TraceCodeReuseSettings)
    doctor_pharmacy: DoctorPharmacySettings = field(default_factory=DoctorPharmacySettings)
    shared_identity: SharedIdentitySettings = field(default_factory=SharedIdentitySettings)
    leads: LeadSettings = field(default_factory=LeadSettings)
    #: the sections of detectors that declare their own settings (``registry.Detector.settings``),
    #: by kind; a section not given here has its defaults
    sections: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def section(self, kind: str) -> Any:
        """The settings of one detector: a built-in section, or a detector's own."""
        if kind in _BUILT_IN:
            return getattr(self, kind)
        if kind in self.sections:
            return self.sections[kind]
        return registry.plugin_sections()[kind]()

    def __post_init__(self) -> None:
        if self.engine.leiden_objective.lower() not in ("cpm", "modularity"):
            raise GraphfraudError("settings_invalid", path="-", setting="engine.leiden_objective",
                                  detail=f'expected "CPM" or "modularity", got {self.engine.leiden_objective!r}')

    def to_dict(self) -> dict[str, Any]:
        out = _plain(dataclasses.asdict(self))
        del out["sections"]  # the detectors' own sections, each under its kind, with defaults
        for kind in sorted(registry.plugin_sections()):
            out[kind] = _plain(dataclasses.asdict(self.section(kind)))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<settings>") -> Settings:
        if not isinstance(data, dict):
            return _build(cls, data, source, "")
        plugins = registry.plugin_sections()
        own = {k: v for k, v in data.items() if k not in plugins}
        sections = {k: _build(plugins[k], v, source, k + ".") for k, v in data.items() if k in plugins}
        return dataclasses.replace(_build(cls, own, source, ""), sections=sections)

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


#: the detectors whose sections are fields of ``Settings``
_BUILT_IN = ("card_collection", "cohort_admission", "drug_resale", "trace_code_reuse", "doctor_pharmacy",
             "shared_identity")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _build(cls: type, data: dict[str, Any], source: str, prefix: str):
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
                                  detail="unknown setting; known: " + ", ".join(sorted(names)))
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
