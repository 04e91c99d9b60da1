"""Money as people read it: exact decimals with thousands separators, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

#: Yunnan whistle-blower reward schedule (see the domain brief): below 10,000 yuan -> 500;
#: 10,000 up to (not including) 20,000 -> 1,000; 20,000 to 40,000 inclusive -> 1,500;
#: above 40,000 -> 5 % of the amount, at most 10,000.
REWARD_BANDS = ((Decimal(10000), Decimal(500)), (Decimal(20000), Decimal(1000)))
REWARD_FLAT_UNTIL = Decimal(40000)
REWARD_FLAT = Decimal(1500)
REWARD_RATE = Decimal("0.05")
REWARD_CAP = Decimal(10000)


def whistleblower_reward(amount: Decimal) -> Decimal:
    """The reward the schedule implies for a case of ``amount`` yuan (0 when nothing was lost).

    >>> [str(whistleblower_reward(Decimal(x))) for x in ("9999.99", "10000", "20000", "40000", "40000.01", "300000")]
    ['500.00', '1000.00', '1500.00', '1500.00', '2000.00', '10000.00']
    """
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if amount <= 0:
        return ZERO
    for upper, reward in REWARD_BANDS:
        if amount < upper:
            return reward.quantize(CENT)
    if amount <= REWARD_FLAT_UNTIL:
        return REWARD_FLAT.quantize(CENT)
    return min(amount * REWARD_RATE, REWARD_CAP).quantize(CENT, rounding=ROUND_HALF_UP)


def money(value) -> Decimal:
    """A stored amount as an exact two-place Decimal (``None`` is 0)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError("money must never be a float")
    return Decimal(value).quantize(CENT)


def fmt_money(amount) -> str:
    """``1234.5`` -> ``1,234.50``; ``None`` -> empty text. Accepts Decimal, int or a decimal string."""
    if amount is None:
        return ""
    return f"{Decimal(amount):,.2f}"
