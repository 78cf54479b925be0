"""Answers for every response model, as conformant servers may send them.

The model strategies (:func:`strategies.from_model`) give the one spelling the reference
server uses. Real servers differ in ways the contract allows, and an SDK's deserialiser must
read all of them. :func:`server_responses` draws a model's answer and then applies some of
these variations (the names are those of :data:`VARIATIONS`; the conformant-variant catalogue
of the reference server shows the same ones on the wire):

- ``unknown_members``: undeclared members in any object, top level or nested (OpenAPI 3.0.3:
  ``additionalProperties`` defaults to true, and no response schema sets it to false);
- ``timestamp_offsets``: date-times in another UTC offset, the same instant (RFC 3339 section
  5.6 ``time-numoffset``, section 4.2);
- ``timestamp_fractions``: zero to nine fractional digits, the same instant (RFC 3339 section
  5.6 ``time-secfrac = "." 1*DIGIT``);
- ``timestamp_lowercase``: ``t`` and ``z`` in lower case (RFC 3339 section 5.6, NOTE);
- ``uuid_v7``: request and verification ids as version-7 UUIDs (RFC 9562 section 5.7; the
  contract states ``format: uuid``, no version);
- ``unordered_lists``: lists whose order the contract leaves free in any order.

Ids are large and sparse in every model strategy already: :func:`strategies.from_model` draws
them past 2**31, 2**32 and 2**53 as well as small, each drawn on its own, so with gaps between them.
:func:`server_response_texts` also varies the JSON text itself (RFC 8259: whitespace, member
order, escapes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from strategies._models import MODELS
from strategies._validation import check_choices

__all__ = [
    "DATE_TIME_MEMBERS",
    "RESPONSE_MODELS",
    "UNKNOWN_MEMBER_PATTERN",
    "UNORDERED_LISTS",
    "UUID_MEMBERS",
    "VARIATIONS",
    "export_downloads",
    "server_response_texts",
    "server_responses",
]

VARIATIONS: tuple[str, ...] = (
    "unknown_members",
    "timestamp_offsets",
    "timestamp_fractions",
    "timestamp_lowercase",
    "uuid_v7",
    "unordered_lists",
)
# Members the contract types `format: date-time` / `format: uuid` in responses, wherever they occur
# (tests/strategies checks both sets against spec/openapi.yaml).
DATE_TIME_MEMBERS = frozenset(
    {
        "created_at", "deleted_at", "expires_at", "file_expires_at", "generated_at", "otp_expires_at",
        "registered_at", "requested_at", "scheduled_for", "updated_at", "verified_at",
    }
)  # fmt: skip
UUID_MEMBERS = frozenset({"request_id", "verification_id"})
# Top-level lists whose order the contract leaves free (ordered ones say so: "ordered by id", "newest first").
UNORDERED_LISTS: dict[str, frozenset[str]] = {
    "ProfileValidationResponse": frozenset({"missing"}),
    "ErrorResponse": frozenset({"details"}),
    "ExportDocument": frozenset({"emails", "phones", "favourites", "fcm_tokens"}),
}
# Undeclared member names; no declared member of the contract matches (tests/strategies checks).
UNKNOWN_MEMBER_PATTERN = r"(x|ext|kesk)_[a-z][a-z0-9_]{0,10}"

# Every schema an answer of the contract is: the 2xx bodies and ErrorResponse (every error).
_RESPONSE_SCHEMAS = (
    "AccountDeletionResponse", "DataExportResponse", "DeleteAccountResult", "ErrorResponse", "GdprStatusResponse",
    "GenericSuccess", "MessageResponse", "MyProfileResponse", "NfcIdentityVerificationResponse",
    "PaginatedResponse_Favourite", "PaginatedResponse_UserEmailResponse", "PaginatedResponse_UserPhoneNumberResponse",
    "ProfileValidationResponse", "UserEmailResponse", "UserPhoneNumberResponse", "VerificationSession",
    "VerificationStatusResponse",
)  # fmt: skip
_EXPORT_DOWNLOAD = "downloadExport"  # typed inline: `type: string`, the export document as JSON text
RESPONSE_MODELS: tuple[str, ...] = (*_RESPONSE_SCHEMAS, _EXPORT_DOWNLOAD)

_TIMESTAMP = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?Z")
# Common real offsets, then any offset RFC 3339 can write (hours 00 to 23).
_OFFSETS = st.one_of(
    st.sampled_from([0, 60, 120, -300, 330, 345, 840, -720, -570]), st.integers(-(23 * 60 + 59), 23 * 60 + 59)
)
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False)
)
_JSON_VALUES = st.recursive(
    st.one_of(_JSON_SCALARS, st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
_UNKNOWN_MEMBERS = st.dictionaries(
    st.from_regex(UNKNOWN_MEMBER_PATTERN, fullmatch=True), _JSON_VALUES, min_size=1, max_size=2
)


def _respell_timestamp(draw: st.DrawFn, text: str, chosen: frozenset[str]) -> str:
    """The same instant as ``text`` (``...Z``, millisecond precision at most), spelt another way."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return text
    fraction = match["fraction"] or ""
    moment = datetime.fromisoformat(f"{match['date']}T{match['time']}+00:00")
    suffix = "Z"
    if "timestamp_offsets" in chosen and draw(st.booleans()):
        minutes = draw(_OFFSETS)
        moment = moment.astimezone(timezone(timedelta(minutes=minutes)))
        sign = "-" if minutes < 0 else "+"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if "timestamp_fractions" in chosen and draw(st.booleans()):
        # Any number of digits that keeps the value: drop trailing zeros, pad zeros up to nine.
        shortest = len(fraction.rstrip("0"))
        digits = draw(st.integers(shortest, 9))
        fraction = fraction.ljust(9, "0")[:digits]
    result = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + suffix
    if "timestamp_lowercase" in chosen and draw(st.booleans()):
        result = result.lower()  # only T and Z are letters
    return result


def _uuid_v7(draw: st.DrawFn) -> str:
    """An RFC 9562 version-7 UUID: a Unix millisecond timestamp, then random bits."""
    millis = draw(st.integers(1_577_836_800_000, 2_082_758_399_000))  # 2020 to 2035
    random = draw(st.integers(0, 2**74 - 1))
    value = (millis << 80) | (0x7 << 76) | ((random >> 62) << 64) | (0b10 << 62) | (random & (2**62 - 1))
    return str(UUID(int=value))


def _vary(draw: st.DrawFn, value: Any, chosen: frozenset[str], unordered: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, list):
        return [_vary(draw, item, chosen) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, member in value.items():
        if key in DATE_TIME_MEMBERS and isinstance(member, str):
            out[key] = _respell_timestamp(draw, member, chosen)
        elif key in UUID_MEMBERS and isinstance(member, str) and "uuid_v7" in chosen and draw(st.booleans()):
            out[key] = _uuid_v7(draw)
        else:
            out[key] = _vary(draw, member, chosen)
            if key in unordered and isinstance(member, list) and "unordered_lists" in chosen:
                out[key] = draw(st.permutations(out[key]))
    if "unknown_members" in chosen and draw(st.booleans()):
        extra = draw(_UNKNOWN_MEMBERS)
        out.update({name: v for name, v in extra.items() if name not in out})
    return out


@st.composite
def _as_sent(draw: st.DrawFn, model: str, chosen: frozenset[str]) -> Any:
    body = draw(MODELS[model]())
    return _vary(draw, body, chosen, UNORDERED_LISTS.get(model, frozenset()))


def _check_variations(variations: Collection[str]) -> frozenset[str]:
    if not isinstance(variations, str) and isinstance(variations, Collection) and not variations:
        return frozenset()  # none: the reference server's own spelling
    return frozenset(check_choices("variations", variations, VARIATIONS))


def _check_model(model: str) -> str:
    if not isinstance(model, str) or model not in RESPONSE_MODELS:
        raise InvalidArgument(f"No response model {model!r}; known response models: {', '.join(RESPONSE_MODELS)}.")
    return model


def export_downloads(*, variations: Collection[str] = VARIATIONS) -> SearchStrategy[str]:
    """downloadExport answers: the ``type: string`` body, the JSON text of an ExportDocument as
    servers send it (``variations`` as for :func:`server_responses`, and any JSON text style)."""
    chosen = _check_variations(variations)
    return _as_sent("ExportDocument", chosen).flatmap(_json_text)


def server_responses(model: str, *, variations: Collection[str] = VARIATIONS) -> SearchStrategy[Any]:
    """Answers for the response model ``model`` (one of :data:`RESPONSE_MODELS`) as conformant
    servers may send them: a JSON value valid for the model's schema and rules, with some of the
    ``variations`` (a subset of :data:`VARIATIONS`, all by default) applied, e.g.
    ``server_responses("UserEmailResponse")``. Each variation is drawn, so the plain spelling
    stays reachable. ``downloadExport`` (a string body) gives :func:`export_downloads`.
    """
    _check_model(model)
    chosen = _check_variations(variations)
    if model == _EXPORT_DOWNLOAD:
        return export_downloads(variations=chosen)
    return _as_sent(model, chosen)


def _shuffle_members(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, list):
        return [_shuffle_members(draw, item) for item in value]
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {key: _shuffle_members(draw, value[key]) for key in keys}
    return value


@st.composite
def _json_text(draw: st.DrawFn, value: Any) -> str:
    # RFC 8259 section 1 (members are unordered), section 2 (insignificant whitespace), section 7 (escapes).
    if draw(st.booleans()):
        value = _shuffle_members(draw, value)
    indent = draw(st.sampled_from([None, 2, "\t"]))
    separators = (draw(st.sampled_from([",", ", ", " ,"])), draw(st.sampled_from([":", ": ", " : "])))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("/", "\\/")  # a solidus only occurs inside strings
    if indent is not None and draw(st.booleans()):
        text = text.replace("\n", "\r\n")  # raw line breaks only occur between tokens
    around = draw(st.sampled_from(["", " ", "\n", "\r\n\t "]))
    return around + text + around


def server_response_texts(model: str, *, variations: Collection[str] = VARIATIONS) -> SearchStrategy[str]:
    """The body text of :func:`server_responses` answers as it comes over the wire: member order
    shuffled, whitespace and line breaks between tokens, non-ASCII characters and ``/`` escaped or
    not (RFC 8259 sections 1, 2 and 7). ``json.loads`` of the text gives a valid answer."""
    return server_responses(model, variations=variations).flatmap(_json_text)
