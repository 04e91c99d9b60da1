"""What detectors return: rings with members, reasons and exact totals; leads.

Reasons are codes with the number behind them and a readable text in Chinese and English,
rendered from the templates below so that both languages always exist together."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from graphfraud.core.money import fmt_money
from graphfraud.detect import registry
from graphfraud.detect.cooccur import poisson_nlp

#: reason code -> (zh, en) template of the reasons every kind uses; parameters are filled by
#: ``reason()``. Each detector declares its own (``Detector.reasons``), added here when the
#: detectors are loaded.
REASON_TEXTS: dict[str, tuple[str, str]] = {
    "cooccur_vs_chance": (
        "成员两两相遇共 {observed} 次，按各自的到访情况偶然只应有 {expected} 次",
        "member pairs met {observed} times where their own visits predict {expected} by chance",
    ),
    "elderly_holders": (
        "{share} 的持卡人年满 {age} 岁",
        "{share} of the card holders are {age} or older",
    ),
    "holders_far": (
        "持卡人参保地与机构相距中位 {km} 公里，来自 {regions} 个不同地区",
        "the holders are insured a median {km} km from the facility, in {regions} different districts",
    ),
    "no_other_tie": (
        "持卡人之间没有共用的电话或地址，相遇无法用亲属关系解释",
        "the holders share no phone or address: no family tie explains their meetings",
    ),
    "family_shared_address": (
        "持卡的 {n} 人中 {same} 人共用同一地址、{phone} 人共用同一电话，可能是家人一起就医购药，评分已下调",
        "of the {n} card holders {same} share one address and {phone} one phone: likely a family shopping "
        "together; score lowered",
    ),
    "shared_phone": (
        "{same} 名成员登记了同一电话号码（可能是招募人）",
        "{same} members registered the same phone number (possibly a recruiter's)",
    ),
    "amount": (
        "涉及结算 {claims} 笔，金额 {amount} 元（统筹基金支付 {fund} 元）",
        "{claims} settlements worth {amount} yuan ({fund} yuan paid by the fund)",
    ),
    "over_threshold": (
        "金额达到移送公安标准 {threshold} 元",
        "the amount reaches the transfer-to-police threshold of {threshold} yuan",
    ),
}


@dataclass(frozen=True)
class Reason:
    code: str
    value: float | int | str
    text_zh: str
    text_en: str
    #: for a lead's scoring reasons: the points it adds to (or, negative, takes from) the score
    points: float | None = None

    def line(self, lang: str) -> str:
        text = self.text_zh if lang == "zh" else self.text_en
        if self.points is None or not self.points:
            return text
        return f"{text}（{self.points:+.0f}）" if lang == "zh" else f"{text} ({self.points:+.0f})"


def fmt_share(x: float) -> str:
    return f"{x * 100:.0f}%"


def fmt_num(x: float, digits: int = 1) -> str:
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def register_reasons(texts: dict[str, tuple[str, str]], owner: str) -> None:
    """Add the reason texts a detector declares; a code already here must keep its text."""
    for code, pair in texts.items():
        if code in REASON_TEXTS and REASON_TEXTS[code] != tuple(pair):
            raise ValueError(f"{owner}: reason {code!r} is already {REASON_TEXTS[code]!r}")
        REASON_TEXTS[code] = tuple(pair)


def reason(code: str, value: float | str, **params: object) -> Reason:
    if code not in REASON_TEXTS:  # a detector's own texts come with the detector list
        registry.detectors()
    zh, en = REASON_TEXTS[code]
    return Reason(code, value, zh.format(**params), en.format(**params))


@dataclass
class Member:
    entity_type: str  # card, patient, doctor, facility, terminal, phone, address, drug
    entity_id: str
    role: str
    n_claims: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class Ring:
    kind: str
    #: the entities whose set identifies the ring across runs (cards for the kinds here)
    key: frozenset[str]
    score: float
    members: list[Member]
    reasons: list[Reason]
    claim_ids: list[str]
    total_amount: Decimal
    fund_amount: Decimal
    first_date: dt.date | None
    last_date: dt.date | None
    over_transfer_threshold: bool
    ring_id: str = ""
    rank: int = 0
    status: str = "new"  # new | same | grown | shrunk | changed (against the previous run)
    previous_id: str | None = None
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def n_members(self) -> int:
        return len(self.key)

    @property
    def n_claims(self) -> int:
        return len(self.claim_ids)

    def reasons_line(self, lang: str, top: int = 4) -> str:
        texts = [r.text_zh if lang == "zh" else r.text_en for r in self.reasons[:top]]
        return ("；" if lang == "zh" else "; ").join(texts)


@dataclass
class Lead:
    lead_id: str
    kind: str
    entity_type: str
    entity_id: str
    claim_ids: list[str]
    amount: Decimal
    text_zh: str
    text_en: str
    #: 0-100, higher is more worth an investigator's time (``graphfraud.detect.lead_score``)
    score: float = 0.0
    #: place in the work queue (1 = first), over all kinds and within the kind; None when the
    #: lead is kept in the workspace but not queued
    rank: int | None = None
    kind_rank: int | None = None
    #: what raised and what lowered the score, each with its number and its points
    reasons: list[Reason] = field(default_factory=list)
    #: the claims that are the suspicious acts themselves (``claim_ids`` adds their context,
    #: e.g. the stay a purchase fell in), each with the claim it is judged against
    hits: dict[str, str | None] = field(default_factory=dict)
    #: the card holder, when known
    patient_id: str | None = None
    facts: dict[str, object] = field(default_factory=dict)
    #: each claim's total amount (``amount`` is their exact sum)
    claim_amounts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def queued(self) -> bool:
        return self.rank is not None

    def reasons_line(self, lang: str, top: int = 4) -> str:
        return ("；" if lang == "zh" else "; ").join(r.line(lang) for r in self.reasons[:top])


@dataclass
class DetectorResult:
    kind: str
    rings: list[Ring]
    stats: dict[str, int | float]


def looks_like_family(n: int, same_address: int, same_phone: int, max_size: int = 6) -> bool:
    """A small group living together: at least two share one address and at least two thirds
    share that address or one phone, so what is left unexplained is one person in three (a
    relative registered elsewhere, a neighbour who shops with them). A recruiter's phone shared
    by strangers at different addresses is not a family."""
    return n <= max_size and same_address >= 2 and 3 * max(same_address, same_phone) >= 2 * n


def money_reasons(total: Decimal, fund: Decimal, n_claims: int, threshold: Decimal) -> tuple[bool, list[Reason]]:
    """Whether the ring's amount reaches the transfer-to-police threshold, and the reasons
    stating the amount (and the threshold when reached)."""
    over = total >= threshold
    out = [reason("amount", str(total), claims=n_claims, amount=fmt_money(total), fund=fmt_money(fund))]
    if over:
        out.append(reason("over_threshold", str(threshold), threshold=fmt_money(threshold)))
    return over, out


def final_score(score: float, bonus: float, family: bool) -> float:
    """An explained family keeps 30 % of its base score and no bonus; clamped to 0-100."""
    return max(0.0, min(100.0, score * 0.3 if family else score + bonus))


def saturate(x: float, scale: float) -> float:
    """0 at x = 0, rising towards 1: ``1 - exp(-x / scale)``."""
    return 1.0 - math.exp(-max(0.0, x) / scale)


def base_score(strength: float, observed: int, expected: float, days: int, members: int) -> float:
    """The shared 0-100 scale. Significance counts for 45 points, half from the typical
    member (median over members of their strongest tie, -log10 p) and half from the whole
    group (all meetings inside the ring against what chance predicts for them, on a log
    scale); repetition over distinct days for 30; the number of members for 25. Detectors
    then add kind-specific signals and explanations."""

    group = min(poisson_nlp(observed, expected), 1e6) if observed else 0.0
    sig = 0.5 * saturate(strength, 8.0) + 0.5 * saturate(math.log10(1.0 + group), 1.5)
    return 100.0 * (0.45 * sig + 0.30 * saturate(days - 1, 6.0) + 0.25 * saturate(members - 2, 5.0))
