"""Telephone numbers (ITU-T E.164) that libphonenumber accepts, and their invalid twins.

Valid numbers are drawn from the per-region, per-type national number patterns in the metadata
shipped with ``phonenumbers`` (the same data as Google's libphonenumber), so every region and
number type the library knows is reachable and the drawn digits vary freely inside the pattern.
Each draw is then checked with ``phonenumbers.is_valid_number_for_region``; the patterns are
precise enough that this check almost never rejects.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from phonenumbers import NumberParseException, PhoneNumberFormat

from strategies._validation import check_bool, check_choices

__all__ = [
    "PhoneNumber",
    "e164_phone_numbers",
    "invalid_phone_numbers",
    "phone_inputs",
    "phone_number_is_valid",
    "phone_numbers",
]

# The contract's patterns: UserPhoneNumberResponse.phone_number and
# CreateUserPhoneNumberRequest.phone_number.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_INPUT = re.compile(r"\+?[0-9 ()-]{2,32}")
_NOT_INPUT_CHARS = re.compile(r"[^0-9 ()+-]")

# PhoneMetadata attributes holding one PhoneNumberDesc per number type.
# fmt: off
_TYPE_ATTRIBUTES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
    "personal_number", "pager", "uan", "voicemail",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """One valid number, in the two forms a user may type it."""

    e164: str  # e.g. "+442079460958"
    national: str  # e.g. "020 7946 0958"; parses back to e164 for region
    region: str  # ISO 3166-1 alpha-2, e.g. "GB"

    def as_request(self, *, national: bool = False) -> dict[str, str]:
        """The contract's CreateUserPhoneNumberRequest for this number."""
        return {"phone_number": self.national if national else self.e164, "country_code": self.region}


def phone_number_is_valid(text: str, region: str) -> bool:
    """True when phonenumbers parses ``text`` for ``region`` into a number valid for that region.

    This is what the contract's server does with a CreateUserPhoneNumberRequest.
    """
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number_for_region(number, region))


@functools.cache
def _patterns(region: str) -> tuple[str, ...]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return ()
    patterns = []
    for attribute in _TYPE_ATTRIBUTES:
        desc = getattr(metadata, attribute, None)
        if desc is None or desc.example_number is None or desc.national_number_pattern is None:
            continue  # the region has no numbers of this type
        # Python's \d also matches non-ASCII digits; the metadata means [0-9].
        patterns.append(desc.national_number_pattern.replace(r"\d", "[0-9]"))
    return tuple(patterns)


REGIONS: tuple[str, ...] = tuple(r for r in sorted(phonenumbers.SUPPORTED_REGIONS) if _patterns(r))


@functools.cache
def _national_numbers(region: str) -> SearchStrategy[str]:
    return st.sampled_from(_patterns(region)).flatmap(lambda p: st.from_regex(p, fullmatch=True))


def _record(region: str, nsn: str) -> PhoneNumber | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None
    e164 = f"+{metadata.country_code}{nsn}"
    if not _E164.fullmatch(e164):
        return None  # a few short numbers (e.g. Iranian 6-digit ones) are shorter than E.164 allows
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number_for_region(number, region):
        return None
    if phonenumbers.format_number(number, PhoneNumberFormat.E164) != e164:
        return None
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if not _INPUT.fullmatch(national):
        # e.g. New Caledonia writes "05.00.12"; keep what the contract's pattern allows.
        national = " ".join(_NOT_INPUT_CHARS.sub(" ", national).split())
    if not _INPUT.fullmatch(national) or not phone_number_is_valid(national, region):
        return None
    if phonenumbers.format_number(phonenumbers.parse(national, region), PhoneNumberFormat.E164) != e164:
        return None
    return PhoneNumber(e164=e164, national=national, region=region)


@st.composite
def _phone_numbers(draw: st.DrawFn, regions: tuple[str, ...]) -> PhoneNumber:
    region = draw(st.sampled_from(regions))
    record = _record(region, draw(_national_numbers(region)))
    if record is None:
        reject()
    return record


def _check_regions(regions: Collection[str] | None) -> tuple[str, ...]:
    if regions is None:
        return REGIONS
    return check_choices("regions", regions, REGIONS)


def phone_numbers(*, regions: Collection[str] | None = None) -> SearchStrategy[PhoneNumber]:
    """Valid telephone numbers as :class:`PhoneNumber` records (ITU-T E.164 and national form).

    ``regions`` is a collection of ISO 3166-1 alpha-2 codes that phonenumbers supports (default:
    all of them, about 240). Every number is valid for its region according to
    ``phonenumbers.is_valid_number_for_region``, its ``e164`` matches the contract's
    ``^\\+[1-9][0-9]{6,14}$``, and its ``national`` form matches the request pattern and parses
    back to the same number for the region. The few numbers phonenumbers accepts that are
    shorter than that pattern allows (e.g. Iranian 4-digit UAN numbers, ``+989601``) are left out.
    """
    return _phone_numbers(_check_regions(regions))


def e164_phone_numbers(*, regions: Collection[str] | None = None) -> SearchStrategy[str]:
    """Valid numbers in ITU-T E.164 form (``+`` country code, national significant number)."""
    return phone_numbers(regions=regions).map(lambda number: number.e164)


def phone_inputs(
    *, regions: Collection[str] | None = None, national: bool | None = None
) -> SearchStrategy[dict[str, str]]:
    """CreateUserPhoneNumberRequest bodies for valid numbers.

    ``national=True`` sends the national form (``"020 7946 0958"``), ``False`` the E.164 form,
    ``None`` (the default) either.
    """
    if national is not None:
        check_bool("national", national)
    forms = st.booleans() if national is None else st.just(national)
    return st.tuples(phone_numbers(regions=regions), forms).map(lambda pair: pair[0].as_request(national=pair[1]))


# Country calling codes with no region in phonenumbers' metadata, such that no prefix is one
# either (the parser takes the first 1-, 2- or 3-digit prefix it knows).
_UNASSIGNED_CODES = tuple(
    str(code)
    for code in range(200, 1000)
    if not {code // 100, code // 10, code} & set(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
)


def _is_refused(request: dict[str, str]) -> bool:
    text, region = request["phone_number"], request["country_code"]
    if not _INPUT.fullmatch(text):
        return False
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return True
    return not phonenumbers.is_valid_number(number)


@st.composite
def _invalid_phone_inputs(draw: st.DrawFn, regions: tuple[str, ...]) -> dict[str, str]:
    valid = draw(phone_numbers(regions=regions))
    cc = valid.e164[1 : len(valid.e164) - len(_significant(valid))]
    digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
    kind = draw(st.sampled_from(["too_long", "too_short", "unknown_country_code", "bad_prefix"]))
    if kind == "too_long":
        # E.164 section 6.1: at most 15 digits in all.
        extra = draw(st.integers(16, 17)) - (len(valid.e164) - 1)
        text = valid.e164 + "".join(draw(digits) for _ in range(max(1, extra)))
    elif kind == "too_short":
        text = draw(st.from_regex(r"[0-9]{2}", fullmatch=True))
    elif kind == "unknown_country_code":
        code = draw(st.sampled_from(_UNASSIGNED_CODES))
        text = f"+{code}{draw(st.from_regex(r'[0-9]{6,10}', fullmatch=True))}"
    else:
        # Same length, but a first digit no number type of the country starts with.
        nsn = _significant(valid)
        candidates = [f"+{cc}{d}{nsn[1:]}" for d in "0123456789" if d != nsn[0]]
        refused = [c for c in candidates if _is_refused({"phone_number": c, "country_code": valid.region})]
        if not refused:
            reject()
        text = draw(st.sampled_from(refused))
    return {"phone_number": text, "country_code": valid.region}


def _significant(number: PhoneNumber) -> str:
    return phonenumbers.national_significant_number(phonenumbers.parse(number.e164))


def invalid_phone_numbers(*, regions: Collection[str] | None = None) -> SearchStrategy[dict[str, str]]:
    """CreateUserPhoneNumberRequest bodies whose number phonenumbers refuses (ITU-T E.164).

    The body matches the contract's schema (the ``phone_number`` pattern, a supported
    ``country_code``), but the number is impossible or invalid: more than 15 digits in all
    (E.164 section 6.1), a two-digit national number, an unassigned country calling code, or a
    valid number whose first significant digit was changed to one no number type starts with.
    Either ``phonenumbers.parse`` raises or ``phonenumbers.is_valid_number`` is false.
    """
    return _invalid_phone_inputs(_check_regions(regions)).filter(_is_refused)
