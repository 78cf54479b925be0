"""ICAO Doc 9303 TD3 (passport) machine readable zones, with correct or deliberately wrong check digits.

Layout (ICAO 9303 part 4, section 4.2.2), 2 lines of 44 characters over ``[A-Z0-9<]``::

    line 1: P, type, issuing state (3), name (39: SURNAME<<GIVEN<NAMES, filler-padded)
    line 2: document number (9) + check, nationality (3), birth date YYMMDD + check, sex,
            expiry date YYMMDD + check, personal number (14) + check, composite check

Check digits follow ICAO 9303 part 3 section 4.9: character values ``0-9`` -> 0..9,
``A-Z`` -> 10..35, ``<`` -> 0; weights 7, 3, 1 repeating; the sum modulo 10.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from strategies._icao import ICAO_CODES
from strategies._validation import check_bool, check_choices

__all__ = [
    "CHECK_DIGIT_FIELDS",
    "CheckDigitField",
    "TD3Mrz",
    "mrz_check_digit",
    "td3_check_digit_failures",
    "td3_mrzs",
    "td3_mrzs_with_bad_check_digit",
]

CheckDigitField = Literal["document_number", "birth_date", "expiry_date", "personal_number", "composite"]
# fmt: off
CHECK_DIGIT_FIELDS: Final[tuple[CheckDigitField, ...]] = (
    "document_number", "birth_date", "expiry_date", "personal_number", "composite",
)
# fmt: on

_WEIGHTS = (7, 3, 1)
_LINE_LENGTH = 44
_NAME_LENGTH = 39
# Where each check digit sits in line 2, and the characters it covers.
_CHECKED: Final[dict[CheckDigitField, tuple[int, tuple[slice, ...]]]] = {
    "document_number": (9, (slice(0, 9),)),
    "birth_date": (19, (slice(13, 19),)),
    "expiry_date": (27, (slice(21, 27),)),
    "personal_number": (42, (slice(28, 42),)),
    "composite": (43, (slice(0, 10), slice(13, 20), slice(21, 43))),
}
# The contract's server reads expiry years as 20YY (passports are valid for at most ten years).
_FIRST_EXPIRY = date(2000, 1, 1)
_LAST_EXPIRY = date(2099, 12, 31)
# A valid document stays valid this long after `today`, so a test may advance the server clock.
VALIDITY_MARGIN: Final = timedelta(days=60)


def _value(char: str) -> int:
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise ValueError(f"{char!r} is not an MRZ character (0-9, A-Z, <)")


def mrz_check_digit(text: str) -> int:
    """The ICAO 9303 part 3 section 4.9 check digit of ``text`` (7-3-1 weights, modulo 10).

    ``mrz_check_digit("L898902C3") == 6`` and ``mrz_check_digit("740812") == 2``, as in the
    ICAO specimen. Raises ``ValueError`` for a character outside ``[0-9A-Z<]``.
    """
    return sum(_value(char) * _WEIGHTS[i % 3] for i, char in enumerate(text)) % 10


def _digit_value(char: str) -> int:
    return 0 if char == "<" else int(char) if char.isdigit() else -1


def td3_check_digit_failures(mrz: str) -> tuple[CheckDigitField, ...]:
    """The TD3 fields whose check digit does not match, in line-2 order (empty when all match).

    ``mrz`` is the two 44-character lines, with or without the newline between them. An empty
    personal number may carry ``<`` as its check digit (ICAO 9303 part 4, section 4.2.2.2).
    """
    text = mrz.replace("\n", "")
    if len(text) != 2 * _LINE_LENGTH:
        raise ValueError("a TD3 MRZ has two lines of 44 characters")
    line2 = text[_LINE_LENGTH:]
    failures: list[CheckDigitField] = []
    for name, (position, parts) in _CHECKED.items():
        covered = "".join(line2[part] for part in parts)
        if _digit_value(line2[position]) != mrz_check_digit(covered):
            failures.append(name)
    return tuple(failures)


@dataclass(frozen=True, slots=True)
class TD3Mrz:
    """A TD3 MRZ with its fields decoded. ``line1`` and ``line2`` are what is printed."""

    document_code: str  # e.g. "P<"
    issuing_state: str  # e.g. "UTO", "D<<"
    surname: str  # primary identifier as in the MRZ, e.g. "ERIKSSON" or "VAN<DER<BERG"
    given_names: str  # secondary identifier, e.g. "ANNA<MARIA"; "" when there is none
    document_number: str  # 9 characters, filler-padded, e.g. "L898902C3"
    nationality: str  # e.g. "UTO"
    birth_date: date
    sex: str  # "M", "F" or "<" (unspecified)
    expiry_date: date
    personal_number: str  # 14 characters, filler-padded; all "<" when unused
    line1: str
    line2: str
    bad_check_digit: CheckDigitField | None = None  # the one wrong check digit, None when all match

    @property
    def text(self) -> str:
        """Both lines without a separator, as the chip's DG1 holds them."""
        return self.line1 + self.line2

    @property
    def mrz(self) -> str:
        """Both lines joined by a newline, as the contract's ``mrz`` field wants them."""
        return f"{self.line1}\n{self.line2}"


def _pad(text: str, length: int) -> str:
    return text[:length].ljust(length, "<")


_NAME_PARTS = st.from_regex(r"[A-Z]{1,12}", fullmatch=True)


@st.composite
def _td3(draw: st.DrawFn, expired: bool, today: date | None) -> TD3Mrz:
    now = today if today is not None else datetime.now(UTC).date()
    if expired:
        expiry = draw(st.dates(max(_FIRST_EXPIRY, now - timedelta(days=3653)), now - timedelta(days=1)))
    else:
        expiry = draw(st.dates(now + VALIDITY_MARGIN, min(_LAST_EXPIRY, now + timedelta(days=3653))))
    latest_birth = min(now, expiry) - timedelta(days=365)
    birth = draw(st.dates(latest_birth - timedelta(days=95 * 365), latest_birth))

    surname_parts = draw(st.lists(_NAME_PARTS, min_size=1, max_size=3))
    given_parts = draw(st.lists(_NAME_PARTS, min_size=0, max_size=4))
    name = "<".join(surname_parts)
    if given_parts:
        name += "<<" + "<".join(given_parts)
    # ICAO 9303 part 3 section 4.6: pad with fillers, truncate what does not fit.
    name_field = _pad(name, _NAME_LENGTH)
    surname, _, given = name_field.partition("<<")
    document_code = "P" + draw(st.sampled_from(["<", "<", "O", "D", "S"]))
    issuing_state = draw(st.sampled_from(ICAO_CODES))
    nationality = draw(st.one_of(st.just(issuing_state), st.sampled_from(ICAO_CODES)))
    document_number = _pad(draw(st.from_regex(r"[A-Z0-9]{6,9}", fullmatch=True)), 9)
    personal_number = draw(
        st.one_of(
            st.just("<" * 14),
            st.from_regex(r"[A-Z0-9][A-Z0-9<]{0,13}", fullmatch=True).map(lambda p: _pad(p, 14)),
        )
    )
    sex = draw(st.sampled_from(["M", "F", "<"]))

    def with_check(field: str) -> str:
        return field + str(mrz_check_digit(field))

    if personal_number == "<" * 14:
        personal = personal_number + draw(st.sampled_from(["<", "0"]))  # either is allowed
    else:
        personal = with_check(personal_number)
    body = (
        with_check(document_number)
        + nationality
        + with_check(birth.strftime("%y%m%d"))
        + sex
        + with_check(expiry.strftime("%y%m%d"))
        + personal
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    line1 = document_code + issuing_state + name_field
    line2 = body + str(mrz_check_digit(composite))
    return TD3Mrz(
        document_code=document_code,
        issuing_state=issuing_state,
        surname=surname,
        given_names=given.rstrip("<"),
        document_number=document_number,
        nationality=nationality,
        birth_date=birth,
        sex=sex,
        expiry_date=expiry,
        personal_number=personal_number,
        line1=line1,
        line2=line2,
    )


def check_today(today: object) -> None:
    if today is None:
        return
    if isinstance(today, datetime) or not isinstance(today, date):
        raise InvalidArgument(f"today={today!r} must be a datetime.date (not a datetime) or None.")
    if not date(2011, 1, 1) <= today <= date(2089, 12, 31):
        # Expiry dates are read as 20YY: ten years either side of today must stay in 2000-2099.
        raise InvalidArgument(f"today={today!r} must be between 2011-01-01 and 2089-12-31.")


def td3_mrzs(*, expired: bool = False, today: date | None = None) -> SearchStrategy[TD3Mrz]:
    """ICAO 9303 TD3 passport MRZs whose five check digits are all correct.

    ``today`` (default: the current UTC date, read at each draw) anchors the dates: the expiry
    date is between 60 days and 10 years after it, or with ``expired=True`` up to 10 years
    before it (at least one day before). The birth date is at least a year before both.
    Names are filler-padded, and truncated when they do not fit in 39 characters.
    """
    check_bool("expired", expired)
    check_today(today)
    return _td3(expired, today)


def _corrupt(mrz: TD3Mrz, field: CheckDigitField, wrong: int) -> TD3Mrz:
    position = _CHECKED[field][0]
    line2 = mrz.line2[:position] + str(wrong) + mrz.line2[position + 1 :]
    if field != "composite":
        # Keep the composite consistent with the changed line, so exactly one digit is wrong.
        line2 = line2[:43] + str(mrz_check_digit(line2[0:10] + line2[13:20] + line2[21:43]))
    return replace(mrz, line2=line2, bad_check_digit=field)


@st.composite
def _bad_td3(draw: st.DrawFn, fields: tuple[CheckDigitField, ...], today: date | None) -> TD3Mrz:
    mrz = draw(_td3(False, today))
    field = draw(st.sampled_from(fields))
    right = _digit_value(mrz.line2[_CHECKED[field][0]])
    wrong = draw(st.sampled_from([d for d in range(10) if d != right]))
    return _corrupt(mrz, field, wrong)


def td3_mrzs_with_bad_check_digit(
    *, fields: Collection[CheckDigitField] | None = None, today: date | None = None
) -> SearchStrategy[TD3Mrz]:
    """TD3 MRZs with exactly one wrong check digit (ICAO 9303 part 3 section 4.9).

    ``bad_check_digit`` names it; ``fields`` restricts the choice to some of
    ``CHECK_DIGIT_FIELDS`` (default: all five). When a field's digit is wrong, the composite
    digit is recomputed over the changed line, so it is the only failure. The document is not
    expired, so the check digit is the first thing a verifier refuses.
    """
    chosen = CHECK_DIGIT_FIELDS if fields is None else check_choices("fields", fields, CHECK_DIGIT_FIELDS)
    check_today(today)
    return _bad_td3(tuple(f for f in CHECK_DIGIT_FIELDS if f in chosen), today)
