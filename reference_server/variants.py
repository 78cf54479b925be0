"""Conformant variants: behaviour the contract allows that the reference server does not show by default.

The mirror of `faults.py` (STYLE.md principle 18). A fault is behaviour the contract
forbids, and the suite must fail the requirement whose rule it breaks; a variant is
behaviour the contract (spec/openapi.yaml) or an RFC it relies on allows, and the suite
must pass against it. Each `Variant` names the clause that allows it (`allowed_by`, a
quote) and carries its whole behaviour in `apply(site)`.

Most variants change no handler: `apply` switches on pieces of one response-rewriting
ASGI layer (`rewriting.py`): a gate before the app, a schema-guided edit of the JSON
body, the JSON style, a header edit, gzip, chunked framing. The id variants work on the
database at app creation instead. Handlers never name a variant.

Adding a variant: find the clause that allows the behaviour, quote it, write the
behaviour as a small function over the site's pieces, and add a `Variant(...)` to
`CATALOGUE` (the order there is the order edits apply in, innermost first).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette

from .db import Database
from .rewriting import Call, Node, Reply, RewritingLayer, VariantSite, json_reply, load_contract

__all__ = ["CATALOGUE", "UnknownVariantError", "Variant", "VariantSet", "variant_names"]


@dataclass(slots=True, frozen=True)
class Variant:
    """Behaviour the contract allows: the suite must pass against a server showing it."""

    name: str
    description: str
    allowed_by: str  # the clause that allows it, quoted (contract or RFC, with its section)
    apply: Callable[[VariantSite], None] = field(repr=False, compare=False)


# -- the id variants: at app creation, on the database ------------------------------------

# Tables whose AUTOINCREMENT ids reach clients: (table, a NOT NULL column list and values for a
# placeholder row). The placeholder is inserted and deleted by a trigger right after each real
# insert, which moves the table's sequence on: the next id leaves a gap.
_ID_TABLES = {
    "users": ("password_hash, created_at", "'~gap', 0"),
    "contacts": ("kind, user_id, value, value_key, created_at", "'~gap', 0, '', '', 0"),
    "favourites": ("user_id, product_id, created_at", "0, 0, 0"),
}


def _ids_from(bases: dict[str, int]) -> Callable[[VariantSite], None]:
    """Ids start at `bases[table]` and leave a gap of 1 to 11 after every insert."""

    def apply(site: VariantSite) -> None:
        _sparse_ids(site.db, bases)

    return apply


def _sparse_ids(db: Database, bases: dict[str, int]) -> None:
    with db.transaction() as conn:
        for table, base in bases.items():
            columns, values = _ID_TABLES[table]
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
            if row is None:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, base))
            elif row["seq"] < base:
                conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (base, table))
            gap = "NEW.id + 1 + (NEW.id * 7) % 11"
            # TEMP: the trigger lives on this connection only, never in a database file.
            conn.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS kesk_variant_gap_{table} AFTER INSERT ON main.{table}"
                f" BEGIN INSERT INTO {table} (id, {columns}) VALUES ({gap}, {values});"
                f" DELETE FROM {table} WHERE id = {gap}; END"
            )


# -- schema-guided body edits ------------------------------------------------------------------

_EXTRA_MEMBERS: dict[str, Any] = {
    "kesk_trace": "variant-unknown-members",
    "kesk_extension": {"revision": 3, "labels": ["a", "b"], "note": None},
}


def _add_unknown_members(value: Any, node: Node) -> Any:
    """Two members no schema declares, in every object whose schema allows more (additionalProperties not false)."""
    if not isinstance(value, dict) or node.schema.get("type", "object") != "object":
        return value
    if node.schema.get("additionalProperties", True) is False or "enum" in node.schema:
        return value
    declared = node.schema.get("properties") or {}
    return {**value, **{name: extra for name, extra in _EXTRA_MEMBERS.items() if name not in declared}}


# Lists whose order the contract leaves free (the ordered ones say so: "ordered by id", "newest first").
_UNORDERED_LISTS = {
    ("ProfileValidationResponse", "missing"),
    ("ErrorResponse", "details"),
    ("ExportDocument", "emails"),
    ("ExportDocument", "phones"),
    ("ExportDocument", "favourites"),
    ("ExportDocument", "fcm_tokens"),
}


def _reverse_unordered_lists(value: Any, node: Node) -> Any:
    if isinstance(value, list) and (node.parent, node.member) in _UNORDERED_LISTS:
        return value[::-1]
    return value


def _set_profile_names(value: Any, node: Node) -> Any:
    """A profile whose names and avatar are set (by whatever else manages them: no operation here sets them)."""
    if node.component != "MyProfileResponse" or not isinstance(value, dict):
        return value
    names = {
        "display_name": "Anna Öhman",
        "first_name": "Anna",
        "last_name": "Öhman",
        "avatar_url": f"https://cdn.business.apis.kesk.app/avatars/{value.get('id', 0)}.png",
    }
    return {**value, **{key: text for key, text in names.items() if key in value and value[key] is None}}


_FINNISH_ERRORS = {
    "malformed_request": "Pyyntöä ei voitu lukea.",
    "validation_failed": "Pyyntö ei ole kelvollinen.",
    "invalid_code": "Koodi ei ole oikein.",
    "code_expired": "Koodi on vanhentunut; pyydä uusi.",
    "unauthorized": "Tarvitaan voimassa oleva tunniste.",
    "forbidden": "Pääsy evätty.",
    "verification_required": "Vahvista ensin ensisijainen sähköpostiosoitteesi.",
    "invalid_password": "Salasana ei ole oikein.",
    "not_found": "Ei löytynyt.",
    "conflict": "Pyyntö on ristiriidassa nykyisen tilan kanssa.",
    "already_exists": "On jo olemassa.",
    "already_verified": "On jo vahvistettu.",
    "not_verified": "Vahvista osoite ensin.",
    "primary_removal": "Aseta ensin toinen osoite ensisijaiseksi.",
    "no_pending_request": "Ei odottavaa pyyntöä.",
    "gone": "Vientitiedosto on vanhentunut.",
    "unsupported_media_type": "Lähetä runko muodossa application/json.",
    "too_many_attempts": "Liian monta väärää koodia; aloita alusta.",
    "rate_limited": "Liian monta pyyntöä; yritä myöhemmin uudelleen.",
    "document_expired": "Asiakirja on vanhentunut.",
    "mrz_invalid": "MRZ:n tarkistusnumero on väärä.",
    "data_group_mismatch": "Tietoryhmä ei vastaa tiivistettään.",
    "chip_authentication_failed": "Siru ei todentautunut.",
}


def _localise_messages(value: Any, node: Node) -> Any:
    """Every `message` (text for people) in Finnish; `code` and everything else unchanged."""
    if not isinstance(value, dict) or not isinstance(value.get("message"), str):
        return value
    if "message" not in (node.schema.get("properties") or {}):
        return value
    if node.component == "ErrorResponse":
        text = _FINNISH_ERRORS.get(str(value.get("code")), "Pyyntöä ei voitu käsitellä.")
    elif node.component == "ErrorDetail":
        text = "Kentän arvo ei kelpaa."
    else:
        text = "Valmis; pyyntösi on käsitelty."
    return {**value, "message": text}


_DATE_TIME = re.compile(r"^(?P<head>.+?)(?P<fraction>\.\d+)?(?P<offset>[Zz]|[+-]\d\d:\d\d)$")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def _timestamps_at(offset: timedelta) -> Callable[[Any, Node], Any]:
    """Every date-time written with `offset`: the same instant, another spelling (RFC 3339 time-numoffset)."""
    zone = timezone(offset)
    minutes = int(offset.total_seconds()) // 60
    suffix = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    def apply(value: Any, node: Node) -> Any:
        if not isinstance(value, str) or node.schema.get("format") != "date-time":
            return value
        match = _DATE_TIME.match(value)
        if match is None:
            return value
        local = _instant(value).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{local}{match['fraction'] or ''}{suffix}"  # the fraction is kept digit for digit

    return apply


def _nanosecond_fractions(value: Any, node: Node) -> Any:
    """Every date-time with nine fractional digits (the same instant: the digits added are zeros)."""
    if not isinstance(value, str) or node.schema.get("format") != "date-time":
        return value
    match = _DATE_TIME.match(value)
    if match is None:
        return value
    fraction = (match["fraction"] or ".")[1:]
    return f"{match['head']}.{fraction.ljust(9, '0')}{match['offset']}"


def _uuid_v7(old: str) -> str:
    """A version-7 UUID derived from `old` alone, so every answer spells one id the same way."""
    digest = bytearray(hashlib.sha256(b"kesk-variant-uuid:" + old.encode()).digest()[:16])
    millis = 1_735_689_600_000 + int.from_bytes(digest[:4], "big") % (365 * 86_400_000)  # within 2025
    digest[:6] = millis.to_bytes(6, "big")
    digest[6] = 0x70 | (digest[6] & 0x0F)
    digest[8] = 0x80 | (digest[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(digest)))


def _uuids_as_v7(value: Any, node: Node) -> Any:
    if isinstance(value, str) and node.schema.get("format") == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return value
        return _uuid_v7(value)
    return value


# -- long export filenames: answers and the download path, both ways ------------------------

_FILENAME = re.compile(r"^kesk-export-(?P<token>[A-Za-z0-9_-]{32,64})\.json$")
_LONG_TOKEN = 64


def _long_filename(short: str) -> str:
    """kesk-export-<token>.json with the token padded to 64 characters by a digest of it (hex: no '-')."""
    match = _FILENAME.match(short)
    if match is None or len(match["token"]) >= _LONG_TOKEN - 1:
        return short
    token = match["token"]
    pad = _LONG_TOKEN - len(token) - 1
    return f"kesk-export-{token}-{_pad(token)[:pad]}.json"


def _pad(token: str) -> str:
    return hashlib.sha256(b"kesk-variant-filename:" + token.encode()).hexdigest()


def _short_filename(name: str) -> str | None:
    """The server's own name for a long name this variant gave out; None for any other name."""
    match = _FILENAME.match(name)
    if match is None or len(match["token"]) != _LONG_TOKEN:
        return None
    token, _, pad = match["token"].rpartition("-")
    if not token or pad != _pad(token)[: len(pad)]:
        return None
    return f"kesk-export-{token}.json"


def _long_export_filenames(site: VariantSite) -> None:
    def edit_filename(value: Any, node: Node) -> Any:
        if node.parent == "DataExportResponse" and node.member == "filename" and isinstance(value, str):
            return _long_filename(value)
        return value

    async def map_download_path(call: Call) -> Reply | None:
        if call.operation is None or call.operation.operation_id != "downloadExport":
            return None
        head, _, name = call.path.rpartition("/")
        short = _short_filename(name)
        # A name this variant never gave out is not the server's either: make it one no export has.
        call.set_path(f"{head}/{short if short is not None else '~' + name}")
        return None

    def edit_disposition(reply: Reply, call: Call) -> None:
        disposition = reply.header("content-disposition")
        if disposition is not None and call.operation is not None:
            reply.set_header(
                "content-disposition",
                re.sub(r'filename="([^"]+)"', lambda m: f'filename="{_long_filename(m[1])}"', disposition),
            )

    site.value_edits.append(edit_filename)
    site.gates.append(map_download_path)
    site.reply_edits.append(edit_disposition)


# -- header and transport edits -----------------------------------------------------------------


def _media_type_spelt(spelling: str) -> Callable[[VariantSite], None]:
    """`application/json; charset=utf-8` written as `spelling` (an equivalent media type)."""

    def edit(reply: Reply, call: Call) -> None:
        content_type = reply.header("content-type") or ""
        parameters = content_type.partition(";")[2].replace(" ", "").lower()
        if reply.media_type == "application/json" and parameters in ("charset=utf-8", 'charset="utf-8"'):
            reply.set_header("content-type", spelling)

    def apply(site: VariantSite) -> None:
        site.reply_edits.append(edit)

    return apply


def _bearer_error_parameters(reply: Reply, call: Call) -> None:
    """RFC 6750 error_description and error_uri after error="invalid_token" (only where a token was sent)."""
    challenge = reply.header("www-authenticate")
    if reply.status == 401 and challenge is not None and 'error="invalid_token"' in challenge:
        reply.set_header(
            "www-authenticate",
            f'{challenge}, error_description="The access token is unknown, revoked or expired",'
            f' error_uri="https://business.apis.kesk.app/docs/errors#invalid_token"',
        )


def _extra_headers(reply: Reply, call: Call) -> None:
    for name, value in (
        ("x-request-id", f"req-{call.number:010d}"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-ratelimit-limit", "1000"),
        ("x-ratelimit-remaining", str(1000 - call.number % 1000)),
        ("server-timing", "app;dur=1.5"),
    ):
        reply.set_header(name, value)
    reply.add_to_list_header("vary", "Authorization")


def _connection_close(reply: Reply, call: Call) -> None:
    reply.set_header("connection", "close")


def _accepts_gzip(header: str | None) -> bool:
    """RFC 9110 section 12.5.3: gzip is acceptable when listed (or matched by `*`) without q=0."""
    if not header:
        return False
    weights: dict[str, float] = {}
    for part in header.split(","):
        coding, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, number = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(number)
                except ValueError:
                    weight = 0.0
        weights[coding.lower()] = weight
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _gzip_bodies(reply: Reply, call: Call) -> None:
    if (
        reply.body
        and reply.header("content-encoding") is None
        and _accepts_gzip(call.request_header("accept-encoding"))
    ):
        reply.body = gzip.compress(reply.body, mtime=0)
        reply.set_header("content-encoding", "gzip")
        reply.add_to_list_header("vary", "Accept-Encoding")


_RATE_LIMIT_EVERY = 25  # the 2nd, 27th, 52nd... request of each operation answers 429


async def _rate_limited(call: Call) -> Reply | None:
    """A documented 429 rate_limited for the 2nd request of each operation, then every 25th; never twice in a row."""
    if call.operation is None or call.seen % _RATE_LIMIT_EVERY != 2:
        return None
    return json_reply(
        429, {"code": "rate_limited", "message": "Too many requests; try again later."}, {"Retry-After": "1"}
    )


async def _latency(call: Call) -> Reply | None:
    await asyncio.sleep((1 + call.number * 3 % 8) / 1000)  # 1 to 8 ms, in a fixed cycle
    return None


# -- small appliers -----------------------------------------------------------------------------


def _value_edit(edit: Callable[[Any, Node], Any]) -> Callable[[VariantSite], None]:
    def apply(site: VariantSite) -> None:
        site.value_edits.append(edit)

    return apply


def _reply_edit(edit: Callable[[Reply, Call], None]) -> Callable[[VariantSite], None]:
    def apply(site: VariantSite) -> None:
        site.reply_edits.append(edit)

    return apply


def _gate(gate: Callable[[Call], Any]) -> Callable[[VariantSite], None]:
    def apply(site: VariantSite) -> None:
        site.gates.append(gate)

    return apply


def _json_style(**changes: Any) -> Callable[[VariantSite], None]:
    def apply(site: VariantSite) -> None:
        site.json_style = replace(site.json_style, **changes)

    return apply


def _chunked(site: VariantSite) -> None:
    site.chunk_size = 64


_OAS_ADDITIONAL = (
    'OpenAPI 3.0.3, Schema Object: "additionalProperties - Value can be boolean or object. [...] Consistent with'
    ' JSON Schema, additionalProperties defaults to true." No response schema of spec/openapi.yaml sets it to false'
    " (only the request schemas NfcDataGroups and NfcDataGroupHashes do)."
)
_RFC3339_OFFSET = (
    'RFC 3339 section 5.6: "time-offset = "Z" / time-numoffset"; section 4.2: "Numeric offsets are calculated as'
    ' "local time minus UTC". So the equivalent time in UTC can be determined by subtracting the offset from the'
    ' local time." spec/openapi.yaml types every timestamp `format: date-time`.'
)
_SPARSE_IDS = (
    'spec/openapi.yaml, ResourceId and every response id: "type: integer, format: int64, minimum: 1",'
    ' "A server-assigned id." (OpenAPI 3.0.3: int64 is "signed 64 bits"). No clause makes ids consecutive;'
    ' PAGINATION only orders items "by id ascending".'
)

CATALOGUE: tuple[Variant, ...] = (
    Variant(
        "ids_large_sparse",
        "Ids of users, emails, phones and favourites start above 2**31 and leave gaps of 1 to 11 between them.",
        _SPARSE_IDS,
        _ids_from({"users": 2**31 + 1_000, "contacts": 2**32 + 17, "favourites": 3 * 2**31 + 5}),
    ),
    Variant(
        "ids_above_2_53",
        "Ids start above 2**53 (beyond exact IEEE 754 doubles), with gaps.",
        _SPARSE_IDS
        + ' RFC 8259 section 6 ("good interoperability can be achieved by implementations that expect no more'
        ' precision or range than these provide") is a caution for IEEE 754 parsers, not a limit of the contract.',
        _ids_from({"users": 2**53 + 1_001, "contacts": 2**53 + 2**20, "favourites": 2**54 + 3}),
    ),
    Variant(
        "unknown_members",
        "Every JSON object in an answer whose schema allows it (nested ones and the export document too) gets two"
        " undeclared members, one of them an object.",
        _OAS_ADDITIONAL,
        _value_edit(_add_unknown_members),
    ),
    Variant(
        "unordered_lists_reversed",
        "Lists whose order the contract leaves free come in reverse: profile-validation `missing`, error `details`,"
        " and the export document's emails, phones, favourites and fcm_tokens.",
        'spec/openapi.yaml: ProfileValidationResponse.missing "uniqueItems: true", "The outstanding requirements; empty'
        ' when the profile is complete."; ErrorResponse.details "Per-field problems, when the error is about fields.";'
        ' ExportDocument.emails "All the user\'s email addresses." No order is stated, where ordered lists say so'
        ' ("The addresses on this page, ordered by id.", "newest first").',
        _value_edit(_reverse_unordered_lists),
    ),
    Variant(
        "profile_names_set",
        "The profile's display_name, first_name, last_name and avatar_url are set (non-ASCII names), in"
        " getMyProfile and in the export document.",
        'spec/openapi.yaml, MyProfileResponse: "Every field is owned by the server."; display_name "The name shown to'
        ' others; null when not set."; avatar_url "format: uri", "The avatar image; null when not set."',
        _value_edit(_set_profile_names),
    ),
    Variant(
        "messages_localised",
        "Every `message` is Finnish text (non-ASCII); codes are unchanged.",
        'spec/openapi.yaml, ErrorResponse: "`code` is stable and machine-readable; `message` is for people";'
        ' message "A human-readable explanation."; MessageResponse "A confirmation for people."',
        _value_edit(_localise_messages),
    ),
    Variant(
        "timestamp_plus_zero",
        "Timestamps end in +00:00 instead of Z (UTC, the same instant).",
        _RFC3339_OFFSET + ' Section 4.3: an offset of "Z" or "+00:00" [...] "imply that UTC is the preferred'
        ' reference point for the specified time."',
        _value_edit(_timestamps_at(timedelta(0))),
    ),
    Variant(
        "timestamp_offset",
        "Timestamps are written in +02:00 local time (the same instant).",
        _RFC3339_OFFSET,
        _value_edit(_timestamps_at(timedelta(hours=2))),
    ),
    Variant(
        "timestamp_nanoseconds",
        "Timestamps carry nine fractional digits (the same instant).",
        'RFC 3339 section 5.6: "time-secfrac = "." 1*DIGIT" (any number of digits); section 5.3: "The format'
        ' defined below includes only one rarely used option: fractions of a second." spec/openapi.yaml:'
        " `format: date-time`.",
        _value_edit(_nanosecond_fractions),
    ),
    Variant(
        "uuid_v7",
        "request_id and verification_id are version-7 UUIDs (derived from the server's own, so stable).",
        'spec/openapi.yaml: request_id and verification_id "type: string, format: uuid", "The request\'s id." No'
        " version is stated (RFC 9562 defines versions 1 to 8).",
        _value_edit(_uuids_as_v7),
    ),
    Variant(
        "export_filename_long",
        "Export filenames carry a 64-character token (with '-'): in answers, Content-Disposition and the download"
        " path.",
        "spec/openapi.yaml, ExportFilename and DataExportResponse.filename:"
        " \"pattern: '^kesk-export-[A-Za-z0-9_-]{32,64}"
        '\\.json$\'", "maxLength: 128".',
        _long_export_filenames,
    ),
    Variant(
        "json_whitespace",
        "JSON bodies are indented with tabs, with CRLF line breaks, spaces around ':' and before ',', and around"
        " the text.",
        'RFC 8259 section 2: "Insignificant whitespace is allowed before or after any of the six structural'
        ' characters." and "ws = *( %x20 / %x09 / %x0A / %x0D )"; "JSON-text = ws value ws".',
        _json_style(indent="\t", item_separator=" ,", key_separator=" : ", line_break="\r\n", around="\r\n "),
    ),
    Variant(
        "json_member_order",
        "Object members come in a fixed order that is neither the schema's nor alphabetical.",
        'RFC 8259 section 1: "An object is an unordered collection of zero or more name/value pairs"; section 4:'
        ' "Implementations whose behavior does not depend on member ordering will be interoperable".',
        _json_style(shuffle_members=True),
    ),
    Variant(
        "json_escaped",
        "JSON strings escape every non-ASCII character (\\uXXXX, surrogate pairs) and every '/' (\\/).",
        'RFC 8259 section 7: "Any character may be escaped."; its grammar escapes "%x2F / ; / solidus U+002F" and'
        ' "%x75 4HEXDIG ) ; uXXXX U+XXXX".',
        _json_style(escape_non_ascii=True, escape_solidus=True),
    ),
    Variant(
        "media_type_compact",
        "Content-Type is application/json;charset=UTF-8 (no space, upper-case charset).",
        'RFC 9110 section 8.3.1: "the following media types are equivalent in describing HTML text data encoded in'
        ' the UTF-8 character encoding scheme [...]: text/html;charset=utf-8 Text/HTML;Charset="utf-8"'
        ' text/html; charset="utf-8" text/html;charset=UTF-8"; section 8.3.2: "charset names are matched'
        ' case-insensitively."',
        _media_type_spelt("application/json;charset=UTF-8"),
    ),
    Variant(
        "media_type_mixed_case",
        'Content-Type is Application/JSON; Charset="utf-8" (mixed case, quoted parameter value).',
        'RFC 9110 section 8.3.1: "The type and subtype tokens are case-insensitive." and the equivalent'
        ' Text/HTML;Charset="utf-8"; section 5.6.6: "Parameter names are case-insensitive." and "The quoted and'
        ' unquoted values are equivalent."',
        _media_type_spelt('Application/JSON; Charset="utf-8"'),
    ),
    Variant(
        "bearer_error_parameters",
        "A 401 for a sent token adds RFC 6750 error_description and error_uri to the challenge.",
        'RFC 6750 section 3: "the resource server MAY include the "error_description" attribute to provide'
        ' developers a human-readable explanation [...] It also MAY include the "error_uri" attribute".'
        " spec/openapi.yaml"
        ' WWWAuthenticate: "pattern: \'^Bearer realm="kesk"\'" (a prefix).',
        _reply_edit(_bearer_error_parameters),
    ),
    Variant(
        "extra_headers",
        "Every answer carries undocumented headers: X-Request-Id, Cache-Control, Pragma, HSTS, X-RateLimit-*, Vary...",
        'RFC 9110 section 5.1: "Other recipients SHOULD ignore unrecognized header and trailer fields."; OpenAPI 3.0.3'
        " Response Object headers list the headers an answer documents, not all it may carry.",
        _reply_edit(_extra_headers),
    ),
    Variant(
        "rate_limited",
        "The 2nd request of each operation, then every 25th, answers 429 rate_limited with Retry-After: 1 before"
        " doing anything; never two in a row for an operation.",
        "spec/openapi.yaml: every operation documents \"'429': $ref: '#/components/responses/TooManyRequests'\""
        ' (or TooManyAttempts), "Too many requests; wait Retry-After seconds.", example "code: rate_limited";'
        ' RFC 6585 section 4: "The 429 status code indicates that the user has sent too many requests in a given'
        ' amount of time ("rate limiting")."',
        _gate(_rate_limited),
    ),
    Variant(
        "latency",
        "Every answer is delayed by 1 to 8 ms (a fixed cycle).",
        'spec/openapi.yaml bounds no response time (a silence, not a clause): its "x-kesk-limits" are'
        ' "verification_token_ttl_s", "otp_ttl_s", "export_file_ttl_s", attempts, the grace period and page sizes.',
        _gate(_latency),
    ),
    Variant(
        "gzip",
        "Bodies are gzip-compressed (Content-Encoding: gzip, Vary: Accept-Encoding) when the request accepts gzip.",
        "RFC 9110 section 12.5.3: \"If the representation's content coding is one of the content codings listed in"
        ' the Accept-Encoding field value, then it is acceptable unless it is accompanied by a qvalue of 0."',
        _reply_edit(_gzip_bodies),
    ),
    Variant(
        "chunked",
        "Bodies are sent with Transfer-Encoding: chunked in 64-byte chunks, without Content-Length.",
        'RFC 9112 section 6.1: "A recipient MUST be able to parse the chunked transfer coding (Section 7.1) because'
        ' it plays a crucial role in framing messages when the content size is not known in advance."',
        _chunked,
    ),
    Variant(
        "connection_close",
        "Every answer carries Connection: close and the server closes the connection after it.",
        'RFC 9112 section 9.6: "The "close" connection option is defined as a signal that the sender will close'
        ' this connection after completion of the response."',
        _reply_edit(_connection_close),
    ),
)

_BY_NAME = {variant.name: variant for variant in CATALOGUE}
if len(_BY_NAME) != len(CATALOGUE):  # pragma: no cover - a catalogue edit gone wrong
    raise RuntimeError("duplicate variant names in CATALOGUE")


def variant_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


class UnknownVariantError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown variant {name!r}; valid variants: {', '.join(sorted(_BY_NAME))}")
        self.name = name


@dataclass(slots=True, frozen=True)
class VariantSet:
    """The variants switched on for one app instance."""

    names: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str]) -> VariantSet:
        chosen = frozenset(names)
        for name in chosen:
            if name not in _BY_NAME:
                raise UnknownVariantError(name)
        return cls(chosen)

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The switched-on variants, in catalogue order (the order their edits apply in)."""
        return tuple(variant for variant in CATALOGUE if variant.name in self.names)

    def install(self, app: Starlette, db: Database, spec: str | os.PathLike[str] | None = None) -> None:
        """Switch the variants on in a freshly built app (before it serves): database first, then one layer."""
        site = VariantSite(db=db)
        for variant in self.variants:
            variant.apply(site)
        if site.needs_layer:
            app.add_middleware(RewritingLayer, site=site, contract=load_contract(spec))
        app.state.variants = tuple(variant.name for variant in self.variants)
