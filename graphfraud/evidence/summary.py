"""The case summary: exact totals from the claims behind the case, the date range, who and
what is involved, the transfer-to-police threshold and the whistle-blower reward.

Money is ``Decimal`` from the claims rows to the JSON strings; nothing passes through float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from graphfraud.core.i18n import t
from graphfraud.core.money import CENT, ZERO, fmt_money, money, whistleblower_reward
from graphfraud.detect.registry import kind_name


def build_summary(graph, claims: list[dict], n_items: int, *, threshold: Decimal, run_id: str,
                  revealed: bool) -> dict:
    """The summary of one case (``graph`` a ``CaseGraph``; ``claims`` the rows of claims.csv)."""

    total = sum((money(c["total_amount"]) for c in claims), ZERO)
    fund = sum((money(c["fund_amount"]) for c in claims), ZERO)
    account = sum((money(c.get("account_amount")) for c in claims), ZERO)
    own = sum((money(c.get("self_amount")) for c in claims), ZERO)
    days = sorted(day_of(c["settled_at"]) for c in claims if c.get("settled_at") is not None)
    first, last = (days[0], days[-1]) if days else (None, None)
    by_type: dict[str, int] = {}
    for n in graph.nodes:
        by_type[n.type] = by_type.get(n.type, 0) + 1
    facilities = [n for n in graph.nodes if n.type == "facility"]
    pharmacies = sum(1 for n in facilities if n.attrs.get("facility_type") == "pharmacy")
    over = total >= threshold
    reward = whistleblower_reward(total)
    s = graph.summary

    def kind_text(lang: str) -> str:
        return t("lead." + graph.kind, lang=lang) if graph.case_type == "lead" else kind_name(graph.kind, lang)
    counts = {"people": by_type.get("patient", 0), "cards": by_type.get("card", 0),
              "facilities": len(facilities), "pharmacies": pharmacies, "doctors": by_type.get("doctor", 0),
              "claims": len(claims), "items": n_items, "nodes": len(graph.nodes), "edges": len(graph.edges),
              "hidden_nodes": graph.hidden_nodes}
    params = dict(case=graph.case_id, total=fmt_money(total), fund=fmt_money(fund), account=fmt_money(account),
                  own=fmt_money(own), claims=len(claims),
                  first=first or "-", last=last or "-", people=counts["people"], cards=counts["cards"],
                  facilities=counts["facilities"], threshold=fmt_money(threshold), reward=fmt_money(reward))
    text = {}
    for lang in ("zh", "en"):
        lines = [t("summary.title", lang=lang, case=graph.case_id, kind=kind_text(lang)),
                 t("summary.amounts", lang=lang, **params),
                 t("summary.dates", lang=lang, **params),
                 t("summary.counts", lang=lang, **params),
                 t("summary.over" if over else "summary.under", lang=lang, **params),
                 t("summary.reward", lang=lang, **params)]
        lines += [r["text_" + lang] for r in graph.reasons if r.get("text_" + lang)]
        text[lang] = lines
    return {
        "case_id": graph.case_id, "case_type": graph.case_type, "kind": graph.kind,
        "kind_zh": kind_text("zh"), "kind_en": kind_text("en"),
        "title_zh": graph.title_zh, "title_en": graph.title_en, "run_id": run_id,
        "score": s.get("score"), "rank": s.get("rank"),
        **({"kind_rank": s.get("kind_rank")} if graph.case_type == "lead" else {}),
        "total_amount": str(total), "fund_amount": str(fund), "account_amount": str(account),
        "self_amount": str(own), "currency": "CNY",
        "first_date": first.isoformat() if first else None, "last_date": last.isoformat() if last else None,
        "counts": counts,
        "transfer_threshold": str(threshold.quantize(CENT)), "over_transfer_threshold": over,
        "whistleblower_reward": str(reward), "reward_basis": "total_amount",
        "identities_revealed": revealed,
        "reasons": [{"code": r["code"], "value": None if r.get("value") is None else str(r["value"]),
                     **({"points": r["points"]} if r.get("points") is not None else {}),
                     "text_zh": r.get("text_zh"), "text_en": r.get("text_en")} for r in graph.reasons],
        "zh": text["zh"], "en": text["en"],
    }


def day_of(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
