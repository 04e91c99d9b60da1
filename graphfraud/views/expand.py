"""``graphfraud expand``: from cards confirmed by inspection (the seeds) to the other cards
that share their pattern.

The seeds' pharmacies and terminals are followed to every other card settled there; each
card is scored by how often it settled within minutes of a seed at the same place, on
distinct days, against what chance predicts from its own visits and the seed's. This is the
co-occurrence engine of ``card_collection`` (``graphfraud.detect.cooccur``) run on the
seeds' places only, so the numbers mean what they mean in a ring's reasons:

- ``days``: distinct days on which the card met any seed (within the window, same place);
- ``expected``: the sum over (seed, place) of the meetings chance predicts for that pair,
  an upper bound of the days expected by chance;
- ``significance``: ``-log10 P(X >= days)`` for ``X ~ Poisson(expected)`` (the engine's
  bound, which never overstates);
- ``path``: the seed and place that explain it best (most days, then significance).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.core.safe_text import write_csv
from graphfraud.detect import card_collection
from graphfraud.detect.cooccur import cooccurrence, poisson_nlp
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims
from graphfraud.store.viewsource import need_touching
from graphfraud.views.casegraph import CaseGraph, build_graph
from graphfraud.views.styles import node_label

PREFIX = "xp"


@dataclass
class Candidate:
    card_id: str
    days: int
    expected: float
    significance: float
    seeds_met: int
    claims: int  # the card's claims in meetings with seeds
    amount: Decimal  # their exact total
    seed: str  # the path: seed -> place -> card
    place: str  # "F:<facility_id>" or "T:<terminal_id>"
    place_days: int  # days met at that place with that seed
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    @property
    def place_type(self) -> str:
        return "pharmacy" if self.place.startswith("F:") else "terminal"

    @property
    def place_id(self) -> str:
        return self.place[2:]

    def path_text(self, lang: str) -> str:
        return t("expand.path", lang=lang, seed=self.seed, place_type=node_label(self.place_type, lang, in_sentence=True),
                 place=self.place_id, days=self.place_days)


@dataclass
class ExpandResult:
    seeds: list[str]  # seeds found in the claims
    missing: list[str]  # seeds with no claim that stands
    places: list[str]
    candidates: list[Candidate]
    graph: CaseGraph | None = None
    stats: dict = field(default_factory=dict)


def read_seeds(path: str | Path) -> list[str]:
    """Card ids from a file: one per line (a CSV's first column also works); blank lines,
    ``#`` comments and a header line (``card_id`` / ``医保卡号``) are skipped."""
    seeds: list[str] = []
    text = Path(path).read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        first = line.replace("\t", ",").split(",")[0].strip().strip('"')
        if first.lower() in ("card_id", "医保卡号", "card"):
            continue
        if first and first not in seeds:
            seeds.append(first)
    return seeds


def expand(con, seeds: list[str], *, settings: Settings | None = None, window_minutes: int | None = None,
           min_days: int = 2, top: int = 50, cap: int = 300, graph: bool = True) -> ExpandResult:
    """Rank the other cards at the seeds' pharmacies and terminals; see the module doc. The
    places, the window (unless ``window_minutes`` is given) and the engine are those of the
    ``card_collection`` settings, so a ``--config`` file reaches them as it reaches detection;
    ``min_days`` is lower than a ring's by default: the seeds are already confirmed."""
    settings = settings or Settings()
    if window_minutes is not None:
        settings = settings.with_section("card_collection", window_minutes=int(window_minutes))
    cc = settings.section("card_collection")
    if not seeds:
        raise GraphfraudError("expand_no_seeds")
    live_claims(con)
    need_touching(con, [("card", s) for s in seeds])
    found = [c for (c,) in con.execute(
        "SELECT DISTINCT card_id FROM live_claims WHERE card_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1",
        [seeds]).fetchall()]
    missing = [s for s in seeds if s not in set(found)]
    if not found:
        raise GraphfraudError("expand_seeds_unknown", seeds=", ".join(seeds[:5]))
    # the seeds' places: pharmacies (by facility type, else claim type) and terminals
    con.execute("""
        CREATE OR REPLACE TEMP TABLE xp_places AS
        SELECT DISTINCT 'F:' || c.facility_id AS place FROM live_claims c LEFT JOIN facilities f USING (facility_id)
        WHERE c.card_id IN (SELECT unnest(?::VARCHAR[]))
          AND (list_contains(?, f.facility_type) OR (f.facility_type IS NULL AND list_contains(?, c.claim_type)))
        UNION
        SELECT DISTINCT 'T:' || terminal_id FROM live_claims
        WHERE card_id IN (SELECT unnest(?::VARCHAR[])) AND terminal_id IS NOT NULL""",
                [found, list(cc.facility_types), list(cc.claim_types), found])
    places = [p for (p,) in con.execute("SELECT place FROM xp_places ORDER BY place").fetchall()]
    need_touching(con, [("facility" if p.startswith("F:") else "terminal", p[2:]) for p in places])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE xp_events AS
        SELECT card_id AS entity, 'F:' || facility_id AS context, epoch(settled_at)::BIGINT AS t, claim_id,
               NULL::DOUBLE AS attr
        FROM live_claims WHERE total_amount > 0 AND 'F:' || facility_id IN (SELECT place FROM xp_places)
        UNION ALL
        SELECT card_id, 'T:' || terminal_id, epoch(settled_at)::BIGINT, claim_id, NULL::DOUBLE
        FROM live_claims WHERE total_amount > 0 AND 'T:' || terminal_id IN (SELECT place FROM xp_places)""")
    spec = dataclasses.replace(card_collection.spec(settings), min_days=int(min_days), min_significance=0.0)
    pr = cooccurrence(con, "xp_events", spec, PREFIX)
    con.execute("CREATE OR REPLACE TEMP TABLE xp_seeds AS SELECT unnest(?::VARCHAR[]) AS entity", [found])
    # pairs of one seed and one other card, per place
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE xp_pairs AS
        SELECT CASE WHEN sa.entity IS NOT NULL THEN eb.entity ELSE ea.entity END AS card_id,
               CASE WHEN sa.entity IS NOT NULL THEN ea.entity ELSE eb.entity END AS seed,
               s.a, s.b, s.c, cx.context AS place, s.k, s.lam, s.nlp
        FROM {PREFIX}_sig s JOIN {PREFIX}_ent ea ON ea.e = s.a JOIN {PREFIX}_ent eb ON eb.e = s.b
        JOIN {PREFIX}_ctx cx ON cx.c = s.c
        LEFT JOIN xp_seeds sa ON sa.entity = ea.entity LEFT JOIN xp_seeds sb ON sb.entity = eb.entity
        WHERE (sa.entity IS NULL) <> (sb.entity IS NULL)""")
    rows = con.execute(f"""
        WITH meet AS (
            SELECT p.card_id, p.seed, s.d, CASE WHEN p.card_id = ea.entity THEN s.claim_a ELSE s.claim_b END AS claim_id
            FROM xp_pairs p JOIN {PREFIX}_support s ON s.a = p.a AND s.b = p.b AND s.c = p.c
            JOIN {PREFIX}_ent ea ON ea.e = s.a),
        per AS (SELECT card_id, count(DISTINCT d) AS days, count(DISTINCT seed) AS seeds_met,
                       list(DISTINCT claim_id) AS claim_ids
                FROM meet GROUP BY card_id),
        lam AS (SELECT card_id, sum(lam) AS expected FROM xp_pairs GROUP BY card_id),
        -- nlp rounded: its last bits depend on the order a parallel sum added the terms, and
        -- two seeds equally good must give the same path on every run
        best AS (SELECT DISTINCT ON (card_id) card_id, seed, place, k FROM xp_pairs
                 ORDER BY card_id, k DESC, round(nlp, 9) DESC, seed, place)
        SELECT per.card_id, per.days, lam.expected, per.seeds_met, per.claim_ids, best.seed, best.place, best.k
        FROM per JOIN lam USING (card_id) JOIN best USING (card_id)""").fetchall()
    candidates = []
    claim_ids_of: dict[str, list[str]] = {}
    for card, days, expected, seeds_met, ids, seed, place, k in rows:
        # a float sum whose last bits depend on the order rows were read; six places are plenty
        expected = round(float(expected or 0.0), 6)
        claim_ids_of[card] = sorted(ids)
        candidates.append(Candidate(card, int(days), expected, round(poisson_nlp(days, expected), 2), int(seeds_met),
                                    len(ids), Decimal("0.00"), seed, place, int(k)))
    candidates.sort(key=lambda c: (-c.significance, -c.days, -c.seeds_met, c.card_id))
    candidates = candidates[:top]
    # exact amounts and dates of the claims behind each candidate's meetings
    for c in candidates:
        total, first, last = con.execute("""
            SELECT sum(total_amount), min(settled_at)::DATE, max(settled_at)::DATE FROM claims
            WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))""", [claim_ids_of[c.card_id]]).fetchall()[0]
        c.amount = Decimal(total or 0).quantize(Decimal("0.01"))
        c.first_date, c.last_date = first, last
    result = ExpandResult(found, missing, places, candidates,
                          stats={"n_events": pr.n_events, "candidate_pairs": pr.n_candidates,
                                 "timings_s": pr.timings})
    if graph:
        result.graph = expand_graph(con, result, claim_ids_of, cap=cap)
    return result


#: the columns of ``expand --csv``
CSV_COLUMNS = ("rank", "card_id", "significance", "days_with_seeds", "expected", "seeds_met", "claims", "amount",
               "first_date", "last_date", "path_seed", "path_place", "path_days", "path_text")


def write_expand_csv(path: str | Path, result: ExpandResult, lang: str) -> None:
    """The ranked cards as CSV (UTF-8 with BOM, cells a spreadsheet would evaluate neutralised)."""
    write_csv(path, list(CSV_COLUMNS),
              ([str(i), c.card_id, f"{c.significance:.2f}", str(c.days), f"{c.expected:.3f}", str(c.seeds_met),
                str(c.claims), f"{c.amount:.2f}", _date(c.first_date), _date(c.last_date), c.seed, c.place,
                str(c.place_days), c.path_text(lang)] for i, c in enumerate(result.candidates, 1)))


def page_rows(result: ExpandResult, lang: str) -> list[dict]:
    """The ranked cards as the page's table shows them."""
    return [{"card_id": c.card_id, "significance": c.significance, "days": c.days, "expected": c.expected,
             "seeds_met": c.seeds_met, "path_text": c.path_text(lang)} for c in result.candidates]


def _date(v) -> str:
    return "" if v is None else v.isoformat()


def expand_graph(con, result: ExpandResult, claim_ids_of: dict[str, list[str]], *, cap: int = 300) -> CaseGraph:
    """The seeds, the ranked cards and the places that tie them, from the claims of their
    meetings (the seeds' own claims at those places included)."""
    cards = [c.card_id for c in result.candidates]
    places_f = [p[2:] for p in result.places if p.startswith("F:")]
    places_t = [p[2:] for p in result.places if p.startswith("T:")]
    seed_claims = [c for (c,) in con.execute("""
        SELECT claim_id FROM live_claims WHERE card_id IN (SELECT unnest(?::VARCHAR[]))
          AND (facility_id IN (SELECT unnest(?::VARCHAR[])) OR terminal_id IN (SELECT unnest(?::VARCHAR[])))""",
                                             [result.seeds, places_f, places_t]).fetchall()]
    ids = sorted(set(seed_claims) | {i for c in cards for i in claim_ids_of.get(c, [])})
    members = {("card", s): "seed" for s in result.seeds}
    keep = {("card", c) for c in [*result.seeds, *cards]} | {("facility", f) for f in places_f} | \
        {("terminal", x) for x in places_t}
    keep |= {("patient", p) for (p,) in con.execute(
        "SELECT DISTINCT patient_id FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND patient_id IS NOT NULL", [ids]).fetchall()} if ids else set()
    nodes, edges, hidden = build_graph(con, ids, members, cap=cap, keep=keep, drugs="none")
    total, fund, first, last = con.execute("""
        SELECT coalesce(sum(total_amount), 0), coalesce(sum(coalesce(fund_amount, 0)), 0), min(settled_at)::DATE,
               max(settled_at)::DATE FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))""",
                                           [ids]).fetchall()[0]
    summary = {"entity_type": "card", "entity_id": ", ".join(result.seeds[:3]) + (" …" if len(result.seeds) > 3 else ""),
               "seeds": result.seeds, "n_claims": len(ids), "total_amount": Decimal(total).quantize(Decimal("0.01")),
               "fund_amount": Decimal(fund).quantize(Decimal("0.01")), "first_date": first, "last_date": last,
               "candidates": len(result.candidates)}
    return CaseGraph("expand", "expand", "expand", t("expand.title", lang="zh", n=len(result.seeds)),
                     t("expand.title", lang="en", n=len(result.seeds)), summary, [], nodes, edges, ids, hidden)
