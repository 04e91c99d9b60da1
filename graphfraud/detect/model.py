"""What detectors return: rings with members, reasons and exact totals; leads.

Reasons are codes with the number behind them and a readable text in Chinese and English,
rendered from the templates below so that both languages always exist together."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from graphfraud.core.money import fmt_money
from graphfraud.detect.cooccur import poisson_nlp

#: reason code -> (zh, en) template; parameters are filled by ``reason()``
REASON_TEXTS: dict[str, tuple[str, str]] = {
    "cc_repeat": (
        "{n} 张卡在药店 {facility} 的 {days} 个不同日期里于 {window} 分钟内相继结算",
        "{n} cards settled within {window} minutes of each other at pharmacy {facility} on {days} distinct days",
    ),
    "cc_terminal": (
        "{share} 的结算经同一终端 {terminal}",
        "{share} of the settlements went through one terminal, {terminal}",
    ),
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
    "ca_cohort": (
        "{n} 人在 {facility} 于 {rounds} 个不同月份分批集中入院（同批相隔 {window} 天内），诊断主要为 {dx}",
        "{n} people admitted to {facility} in batches (within {window} day(s) of each other) in {rounds} different "
        "months, mostly with diagnoses {dx}",
    ),
    "ca_regulars": (
        "{share} 的成员在住院之外也在该机构门诊就诊（至少 {visits} 次），像是病区的固定病人（透析、康复），评分已下调",
        "{share} of the members also see the facility's outpatient clinics between stays (at least {visits} "
        "visits): likely a ward's regular patients (dialysis, rehabilitation); score lowered",
    ),
    "ca_dx_scattered": (
        "诊断分散：{n} 次住院的诊断与该机构住院病人的一般构成相当（集中度仅为其 {focus} 倍），"
        "不像同一批人按同一套诊断收治，评分已下调",
        "scattered diagnoses: the {n} stays' diagnoses are as mixed as the facility's inpatients in general "
        "(only {focus} times as concentrated), unlike a pool billed one small set; score lowered",
    ),
    "ca_no_history": (
        "{share} 的成员在住院之外从未在该机构就诊",
        "{share} of the members never saw the facility except for these stays",
    ),
    "ca_similar_los": (
        "住院天数相近：中位 {los} 天，四分位差 {iqr} 天",
        "similar lengths of stay: median {los} days, interquartile range {iqr} days",
    ),
    "ca_doctor": (
        "{share} 的住院由同一医师 {doctor} 收治",
        "{share} of the admissions were under one doctor, {doctor}",
    ),
    "dr_excess": (
        "{n} 张卡超量购买{drug}：购药前已取得的用量比实际经过的天数共多出 {excess} 天（每张卡中位 {per} 天，"
        "取得用量为经过天数的 {ratio} 倍）",
        "{n} cards obtained {drug_en} far beyond need: {excess} days of supply more than the days elapsed "
        "(median {per} days per card; {ratio} times the days elapsed)",
    ),
    "dr_doctors": (
        "{share} 的超量购药处方出自 {k} 名医师：{doctors}",
        "{share} of the excess purchases were prescribed by {k} doctor(s): {doctors_en}",
    ),
    "dr_pharmacies": (
        "{share} 在 {k} 家药店取药：{pharmacies}",
        "{share} were dispensed by {k} pharmacy(ies): {pharmacies_en}",
    ),
    "dr_shared_address": (
        "{same} 名持卡人登记在同一地址",
        "{same} card holders are registered at one address",
    ),
    "dr_family": (
        "{n} 名持卡人中 {same} 人共用同一地址，可能是一家人：亲属关系不计入评分，但解释不了每人的超量用药",
        "{same} of the {n} holders share one address, likely a family: the tie does not count in the score, but it "
        "does not explain each member's excess supply",
    ),
    "dr_cooccur": (
        "成员两两在 {window} 天内由同一医师开出同一药品共 {observed} 次，按各自购药频率偶然只应有 {expected} 次",
        "member pairs got the same drug from the same doctor within {window} day(s) {observed} times where their "
        "own purchases predict {expected}",
    ),
    "tc_reused": (
        "药店 {facility} 有 {codes} 个药品追溯码被重复结算（共 {dispensed} 次），涉及 {cards} 张卡",
        "pharmacy {facility} dispensed {codes} drug traceability codes more than once ({dispensed} dispensings), "
        "on {cards} cards",
    ),
    "tc_loop": (
        "{codes} 个药品追溯码（即 {codes} 盒药）在 {n_ph} 家药店（{pharmacies}）之间回流、被重复结算共 {dispensed} 次："
        "{back} 张卡买走的药盒又被再次售出，{got} 张卡收到回流的药盒",
        "{codes} drug traceability codes ({codes} boxes) came back and were settled again among {n_ph} "
        "pharmacies ({pharmacies}), {dispensed} dispensings in all: the boxes of {back} cards were sold again, "
        "{got} cards received a returned box",
    ),
    "tc_max_uses": (
        "同一盒药的追溯码最多被结算 {uses} 次",
        "one box's traceability code was settled up to {uses} times",
    ),
    "dp_share": (
        "医师 {doctor} 开出的处方有 {share}（{n}/{n_d} 笔）在药店 {pharmacy} 取药，按患者可去的药店预计只有 {expected}",
        "{share} of doctor {doctor}'s prescriptions ({n} of {n_d}) were filled at pharmacy {pharmacy}, where the "
        "pharmacies the patients could use predict {expected}",
    ),
    "dp_vs_peers": (
        "预计约 {expected} 笔，实际 {observed} 笔；比较对象：{used}",
        "about {expected} fills predicted, {observed} observed; compared with: {used_en}",
    ),
    "si_hub_phone": (
        "{people} 名参保人登记了同一个电话号码，远超一户人家",
        "{people} insured people registered the same phone number, far more than one household",
    ),
    "si_hub_address": (
        "{people} 名参保人登记在同一个地址，远超一户人家",
        "{people} insured people are registered at the same address, far more than one household",
    ),
    "si_round": (
        "整百元（至少 {minimum} 元）的购药 {buys} 笔",
        "{buys} purchases of whole hundreds of yuan (at least {minimum} yuan)",
    ),
    "si_refunds": (
        "{refunds} 笔购药事后被冲销退款",
        "{refunds} purchases were refunded (reversed) afterwards",
    ),
    "si_in_rings": (
        "其中 {n} 张卡也出现在本次检测的其他团伙中",
        "{n} of their cards also belong to other rings of this run",
    ),
    "si_share": (
        "这些人中 {share} 有上述可疑行为",
        "{share} of these people show such activity",
    ),
    "si_tie_phone": (
        "{n} 名成员的持卡人与共用电话 {hub} 的人群相关联",
        "{n} members' holders belong to the group sharing phone {hub}",
    ),
    "si_tie_address": (
        "{n} 名成员的持卡人与共用地址 {hub} 的人群相关联",
        "{n} members' holders belong to the group sharing address {hub}",
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


def reason(code: str, value: float | str, **params: object) -> Reason:
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
