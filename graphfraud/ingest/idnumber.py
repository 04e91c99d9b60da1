"""Citizen ID numbers (居民身份证号码, GB 11643-1999): check digit, birth date and sex.

The 18th character is a check over the first 17 digits: weights 2^(17-i) mod 11, sum mod
11 indexes ``"10X98765432"``. Digits 7-14 are the birth date, digit 17 is odd for men.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """The check character of 17 digits.

    >>> check_char("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def is_valid(id_number: str | None) -> bool:
    """True when ``id_number`` has 18 characters and the right check character."""
    if not id_number or len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    return check_char(id_number[:17]) == id_number[17].upper()


def check_chars(first17: np.ndarray) -> np.ndarray:
    """Vectorised ``check_char`` over an (n, 17) array of digit values 0-9."""
    total = (np.asarray(first17, dtype=np.int64) * np.asarray(WEIGHTS, dtype=np.int64)).sum(axis=1)
    return np.array(list(CHECK_CHARS))[total % 11]


def sql_is_valid(col: str) -> str:
    """A DuckDB expression that is true when column ``col`` is a valid 18-character ID, false
    when it holds anything else, and NULL when it is empty: the citizen ID is optional, and a
    missing one is missing, not invalid.

    ``col`` must be a trusted column name (it is put into query text).
    """
    terms = " + ".join(f"{w} * CAST(substr({col}, {i + 1}, 1) AS INTEGER)" for i, w in enumerate(WEIGHTS))
    return (
        f"(CASE WHEN nullif(trim({col}), '') IS NULL THEN NULL WHEN regexp_full_match({col}, '[0-9]{{17}}[0-9Xx]') "
        f"THEN substr('{CHECK_CHARS}', (({terms}) % 11) + 1, 1) = upper(substr({col}, 18, 1)) "
        f"ELSE false END)"
    )
