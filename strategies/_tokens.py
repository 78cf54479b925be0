"""Small domain values: one-time codes, push tokens, product ids and platforms."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from strategies._validation import check_int_range

__all__ = ["fcm_tokens", "otp_codes", "platforms", "product_ids", "verification_tokens"]

INT64_MAX = 2**63 - 1
FCM_TOKEN_MAX_LENGTH = 4096  # the contract's FcmToken maxLength
PLATFORMS = ("ios", "android", "web")

_SIX_DIGITS = st.integers(min_value=0, max_value=999_999).map(lambda n: f"{n:06d}")
_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_FCM_ALPHABET = _URLSAFE + ":"


def otp_codes() -> SearchStrategy[str]:
    """Six-digit one-time passwords, leading zeros kept (``"004217"``).

    The contract's ``Otp`` (``^[0-9]{6}$``), as in RFC 4226 section 5.3 with ``Digit = 6``.
    """
    return _SIX_DIGITS


def verification_tokens() -> SearchStrategy[str]:
    """Six-digit email/SMS verification tokens: the contract's VerificationTokenRequest.token."""
    return _SIX_DIGITS


@st.composite
def _registration_tokens(draw: st.DrawFn, min_length: int, max_length: int) -> str:
    # The shape Firebase issues: "<instance id>:APA91b<base64url payload>", about 163 characters.
    instance = draw(st.text(alphabet=_URLSAFE, min_size=11, max_size=22))
    head = f"{instance}:APA91b"
    payload_min = max(1, min_length - len(head))
    payload_max = max_length - len(head)
    if payload_max < payload_min:
        return draw(st.text(alphabet=_FCM_ALPHABET, min_size=min_length, max_size=max_length))
    payload = draw(st.text(alphabet=_URLSAFE, min_size=payload_min, max_size=min(payload_max, max(payload_min, 200))))
    return head + payload


def fcm_tokens(*, min_length: int = 1, max_length: int = FCM_TOKEN_MAX_LENGTH) -> SearchStrategy[str]:
    """Firebase Cloud Messaging registration-token-like strings (the contract's ``FcmToken``).

    Either the shape Firebase issues (``<instance id>:APA91b<payload>`` in the base64url
    alphabet of RFC 4648 section 5) or any string over ``[A-Za-z0-9_:-]``, always between
    ``min_length`` and ``max_length`` characters (1 to 4096, the contract's bounds).
    """
    check_int_range("min_length", min_length, min_value=1, max_value=FCM_TOKEN_MAX_LENGTH)
    check_int_range("max_length", max_length, min_value=min_length, max_value=FCM_TOKEN_MAX_LENGTH)
    return st.one_of(
        _registration_tokens(min_length, max_length),
        st.text(alphabet=_FCM_ALPHABET, min_size=min_length, max_size=max_length),
    )


def product_ids(*, min_value: int = 1, max_value: int = INT64_MAX) -> SearchStrategy[int]:
    """Product ids: the contract's ``ProductId``, an int64 of at least 1."""
    check_int_range("min_value", min_value, min_value=1, max_value=INT64_MAX)
    check_int_range("max_value", max_value, min_value=min_value, max_value=INT64_MAX)
    return st.integers(min_value=min_value, max_value=max_value)


def platforms() -> SearchStrategy[str]:
    """Push-token platforms: the contract's ``Platform`` enum (``ios``, ``android``, ``web``)."""
    return st.sampled_from(PLATFORMS)
