"""ICAO Doc 9303 TD3 (passport) machine-readable zone: parsing and check digits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["TD3", "MrzError", "check_digit", "parse_td3"]

_LINE = re.compile(r"[A-Z0-9<]{44}")
_WEIGHTS = (7, 3, 1)


class MrzError(ValueError):
    """The MRZ is structurally wrong or a check digit does not match."""


def _char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if char == "<":
        return 0
    return ord(char) - ord("A") + 10


def check_digit(field: str) -> str:
    """ICAO 9303 part 3 section 4.9: weights 7, 3, 1 repeating, modulo 10."""
    total = sum(_char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)


@dataclass(slots=True, frozen=True)
class TD3:
    line1: str
    line2: str
    issuing_country: str
    document_number: str
    birth_date: str  # YYMMDD
    expiry_date: date

    @property
    def text(self) -> str:
        """The MRZ as DG1 carries it: both lines, no separator."""
        return self.line1 + self.line2


def parse_td3(mrz: str, *, verify_check_digits: bool = True) -> TD3:
    lines = mrz.split("\n")
    if len(lines) != 2 or not all(_LINE.fullmatch(line) for line in lines):
        raise MrzError("a TD3 MRZ is two lines of 44 characters [A-Z0-9<]")
    line1, line2 = lines
    if line1[0] != "P":
        raise MrzError("only passports (document code P) are supported")
    if verify_check_digits:
        _verify_check_digits(line2)
    try:
        expiry = _expiry_date(line2[21:27])
        _birth_date_is_real(line2[13:19])
    except ValueError as exc:
        raise MrzError(f"impossible date: {exc}") from exc
    return TD3(
        line1=line1,
        line2=line2,
        issuing_country=line1[2:5],
        document_number=line2[0:9],
        birth_date=line2[13:19],
        expiry_date=expiry,
    )


def _verify_check_digits(line2: str) -> None:
    fields = {
        "document number": (line2[0:9], line2[9]),
        "birth date": (line2[13:19], line2[19]),
        "expiry date": (line2[21:27], line2[27]),
        "composite": (line2[0:10] + line2[13:20] + line2[21:43], line2[43]),
    }
    for name, (value, digit) in fields.items():
        if check_digit(value) != digit:
            raise MrzError(f"{name} check digit mismatch")
    personal, digit = line2[28:42], line2[42]
    # An empty personal number may carry "<" instead of 0 as its check digit.
    if not (personal == "<" * 14 and digit == "<") and check_digit(personal) != digit:
        raise MrzError("personal number check digit mismatch")


def _expiry_date(yymmdd: str) -> date:
    # Passports are valid for at most ten years, so expiry years are 20YY.
    return date(2000 + int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))


def _birth_date_is_real(yymmdd: str) -> None:
    if not yymmdd.isdigit():
        raise ValueError("birth date is not numeric")
    date(2000, int(yymmdd[2:4]), int(yymmdd[4:6]))  # any leap year validates the day
