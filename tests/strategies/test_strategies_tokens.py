from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis.errors import InvalidArgument
from strategies_helpers import checked, find_any

from strategies import fcm_tokens, otp_codes, platforms, product_ids, verification_tokens

FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]+")  # the contract's FcmToken pattern


@checked
@given(otp_codes(), verification_tokens())
def test_codes_are_six_ascii_digits(otp: str, token: str) -> None:
    # Given an OTP and a verification token, Then each matches ^[0-9]{6}$
    assert re.fullmatch(r"[0-9]{6}", otp)
    assert re.fullmatch(r"[0-9]{6}", token)


def test_codes_keep_leading_zeros() -> None:
    find_any(otp_codes(), lambda code: code.startswith("0"))


@checked
@given(fcm_tokens())
def test_fcm_tokens_fit_the_contract(token: str) -> None:
    assert 1 <= len(token) <= 4096
    assert FCM_TOKEN.fullmatch(token)


@checked
@given(fcm_tokens(min_length=4000))
def test_fcm_tokens_respect_the_bounds(token: str) -> None:
    assert 4000 <= len(token) <= 4096
    assert FCM_TOKEN.fullmatch(token)


def test_fcm_tokens_look_like_firebase_tokens() -> None:
    find_any(fcm_tokens(), lambda token: re.fullmatch(r"[A-Za-z0-9_-]{11,22}:APA91b[A-Za-z0-9_-]{20,}", token))


@checked
@given(product_ids(), platforms())
def test_product_ids_and_platforms_fit_the_contract(product_id: int, platform: str) -> None:
    assert 1 <= product_id <= 2**63 - 1
    assert platform in {"ios", "android", "web"}


def test_product_ids_reach_large_int64_values() -> None:
    find_any(product_ids(), lambda n: n > 2**53)  # beyond what a JavaScript number holds exactly


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        (fcm_tokens, {"min_length": 0}),
        (fcm_tokens, {"max_length": 4097}),
        (fcm_tokens, {"min_length": 10, "max_length": 9}),
        (product_ids, {"min_value": 0}),
        (product_ids, {"max_value": 2**63}),
        (product_ids, {"min_value": 5, "max_value": 4}),
        (product_ids, {"min_value": 1.5}),
    ],
)
def test_token_factories_reject_bad_arguments(factory, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        factory(**kwargs)
