"""NFC passport submissions (ICAO Doc 9303 TD3) for the identity machine: one valid, three refusable.

Private stand-ins until the shared ``strategies`` package provides MRZ and NFC generators. Each
invalid twin breaks exactly one check, so the refusal it must get is unambiguous: a wrong
document-number check digit (mrz_invalid), an expiry date in the past (document_expired), a DG2
whose hash differs from the security object's (data_group_mismatch).
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import date
from typing import Any

__all__ = ["KINDS", "check_digit", "submission"]

KINDS = ("valid", "expired", "bad_check_digit", "tampered_data_group")
_WEIGHTS = (7, 3, 1)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _value(char: str) -> int:
    if char.isdigit():
        return int(char)
    return 0 if char == "<" else ord(char) - ord("A") + 10


def check_digit(field: str) -> str:
    """ICAO 9303 part 3, 4.9: weights 7, 3, 1 repeating, sum modulo 10."""
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _mrz(rng: random.Random, expiry: date) -> tuple[str, str]:
    line1 = "P<UTOERIKSSON<<ANNA<MARIA".ljust(44, "<")
    number = "".join(rng.choice(_ALNUM) for _ in range(9))
    birth = "740812"
    expiry_text = expiry.strftime("%y%m%d")
    personal = "<" * 14
    head = f"{number}{check_digit(number)}UTO{birth}{check_digit(birth)}F{expiry_text}{check_digit(expiry_text)}"
    body = f"{head}{personal}<"
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + check_digit(composite)


def submission(kind: str, rng: random.Random, today: date) -> dict[str, Any]:
    """An NfcIdentityVerificationRequest of the given kind (one of KINDS)."""
    expiry = date(today.year + 5, 6, 15) if kind != "expired" else date(2015, 3, 1)
    line1, line2 = _mrz(rng, expiry)
    if kind == "bad_check_digit":
        line2 = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    dg1 = (line1 + line2).encode("ascii")
    dg2 = rng.randbytes(64)
    hashes = {"DG1": hashlib.sha256(dg1).hexdigest(), "DG2": hashlib.sha256(dg2).hexdigest()}
    if kind == "tampered_data_group":
        hashes["DG2"] = hashlib.sha256(dg2 + b"tampered").hexdigest()
    return {
        "mrz": f"{line1}\n{line2}",
        "data_groups": {"DG1": base64.b64encode(dg1).decode(), "DG2": base64.b64encode(dg2).decode()},
        "security_object": {"hash_algorithm": "SHA-256", "data_group_hashes": hashes},
        "chip_authentication": {
            "method": "chip_authentication",
            "result": "succeeded",
            "public_key": base64.b64encode(rng.randbytes(32)).decode(),
        },
    }
