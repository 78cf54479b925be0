"""Identity verification: the Stripe-style session, NFC passport submissions and the views that show them.

The model holds the Stripe status (a session moves it to requires_input), the NFC status (verified, or
failed with the refusal code; a verified identity stays verified) and derives the overall status. The table
(IDENTITY_TABLE) submits, in every state, a valid passport, one failing each of the contract's four checks,
and passports failing several at once (NFC-VALIDATION fixes the order: the first failure is the answer);
every submission is drawn from `strategies` (ICAO 9303). After every step the verification status, the
profile validation and the profile are read and compared with the model. With a user factory every path
acts as a fresh disposable user, because a verified identity cannot be undone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._support import body_of
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Sharing
from strategies import NFC_CHECKS, NfcCheck, nfc_submissions, nfc_submissions_failing

__all__ = ["IDENTITY", "IDENTITY_TABLE", "PROFILE_VALIDATION_STATE", "IdentityLifecycle"]

_NFC = ("appSubmitNfcVerification", "appGetVerificationStatus")
# The refusal code of each check (NFC-VALIDATION), in the contract's order.
_CODES: dict[str, str] = dict(
    zip(
        NFC_CHECKS,
        ("mrz_invalid", "document_expired", "data_group_mismatch", "chip_authentication_failed"),
        strict=True,
    )
)

_IDV_SESSION = owned(
    "IDV-SESSION",
    cites=("seed:appCreateVerificationSession",),
    title="A verification session carries its client credentials",
    operations=("appCreateVerificationSession", "appGetVerificationStatus"),
    doc="Creates verification sessions in every state: session id, client secret, ephemeral key secret, status "
    "requires_input.",
)
_IDV_NFC_VALID = owned(
    "IDV-NFC-VALID",
    cites=("rule:NFC-VALIDATION", "seed:appSubmitNfcVerification"),
    title="A valid passport read over NFC verifies the identity",
    operations=_NFC,
    doc="Submits a valid TD3 passport (check digits, future expiry, matching data group hashes, chip "
    "authenticated) in every state: 200 verified, with the MRZ's issuing state and expiry date echoed.",
)
_IDV_NFC_MRZ = owned(
    "IDV-NFC-MRZ",
    cites=("rule:NFC-VALIDATION",),
    title="A passport with a wrong MRZ check digit is refused",
    operations=_NFC,
    doc="Submits a passport with one wrong MRZ check digit (and nothing else wrong): 422 mrz_invalid.",
)
_IDV_NFC_EXPIRY = owned(
    "IDV-NFC-EXPIRY",
    cites=("rule:NFC-VALIDATION",),
    title="An expired passport is refused",
    operations=_NFC,
    doc="Submits a passport that expired before today (and nothing else wrong): 422 document_expired.",
)
_IDV_NFC_INTEGRITY = owned(
    "IDV-NFC-INTEGRITY",
    cites=("rule:NFC-VALIDATION",),
    title="A passport with a tampered data group is refused",
    operations=_NFC,
    doc="Submits a passport whose DG2 does not match its hash (and nothing else wrong): 422 data_group_mismatch.",
)
_IDV_NFC_CHIP = owned(
    "IDV-NFC-CHIP",
    cites=("rule:NFC-VALIDATION",),
    title="A passport whose chip authentication failed is refused",
    operations=_NFC,
    doc="Submits a passport whose chip authentication result is failed (and nothing else wrong): 422 "
    "chip_authentication_failed.",
)
_IDV_NFC_ORDER = owned(
    "IDV-NFC-ORDER",
    cites=("rule:NFC-VALIDATION",),
    title="An NFC submission failing several checks is refused for the first in the contract's order",
    operations=_NFC,
    doc="Submits passports failing every check, every check but the MRZ, and integrity with chip "
    "authentication: 422 mrz_invalid, document_expired and data_group_mismatch.",
)
_IDV_STATUS_MODEL = owned(
    "IDV-STATUS-MODEL",
    cites=("seed:appGetVerificationStatus", "spec:/components/schemas/VerificationStatusResponse"),
    title="The verification status reflects every session and submission",
    operations=(*_NFC, "appCreateVerificationSession"),
    doc="After every step, the verification status equals the model (Stripe, NFC, failure reason, overall).",
)
PROFILE_VALIDATION_STATE = owned(
    "PROFILE-VALIDATION-STATE",
    cites=("seed:getProfileValidation", "spec:/components/schemas/ProfileValidationResponse"),
    title="The profile validation agrees with the email, phone and identity state",
    operations=("getProfileValidation", "getMyProfile"),
    doc="After every step of the emails, phones and identity machines, reads the profile validation and compares.",
)

# Each submission: the checks it fails (none: a valid passport), the answer, the requirement that judges it.
_SUBMISSIONS: dict[str, tuple[tuple[NfcCheck, ...], str]] = {
    "submit_valid": ((), _IDV_NFC_VALID.id),
    "submit_bad_check_digit": (("mrz_check_digits",), _IDV_NFC_MRZ.id),
    "submit_expired": (("document_expiry",), _IDV_NFC_EXPIRY.id),
    "submit_tampered": (("data_integrity",), _IDV_NFC_INTEGRITY.id),
    "submit_chip_failed": (("chip_authentication",), _IDV_NFC_CHIP.id),
    "submit_failing_all": (NFC_CHECKS, _IDV_NFC_ORDER.id),
    "submit_failing_from_expiry": (NFC_CHECKS[1:], _IDV_NFC_ORDER.id),
    "submit_failing_from_integrity": (NFC_CHECKS[2:], _IDV_NFC_ORDER.id),
}
# stripe state (no session yet, a session requires input) x NFC state (not started, failed, verified)
_STATES = {("not_started", "not_started"): "fresh", ("requires_input", "not_started"): "session"}
_STATES |= {("not_started", "failed"): "failed", ("requires_input", "failed"): "session_failed"}
_STATES |= {("not_started", "verified"): "verified", ("requires_input", "verified"): "session_verified"}


def _identity_rows() -> list[Row]:
    rows = []
    for (stripe, nfc), state in _STATES.items():
        rows.append(row(state, "create_session", 200, _STATES["requires_input", nfc], _IDV_SESSION.id))
        for action, (failing, requirement_id) in _SUBMISSIONS.items():
            if not failing:
                rows.append(row(state, action, 200, _STATES[stripe, "verified"], requirement_id))
                continue
            after = "verified" if nfc == "verified" else "failed"  # a verified identity stays verified
            answer = (422, _CODES[failing[0]])
            rows.append(row(state, action, answer, _STATES[stripe, after], requirement_id))
    return rows


IDENTITY_TABLE = Table("identity", "fresh", _identity_rows())


class IdentityLifecycle(Lifecycle):
    table = IDENTITY_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user() if ctx.factory is not None else ctx.user_a
        start = ctx.call("appGetVerificationStatus", user=self.user)
        body = body_of(start)
        if start.status != 200:
            raise UndecidedRequirement(f"cannot read the verification status to start from: {ctx.actual(start)}")
        self.stripe: str = str((body.get("stripe") or {}).get("status"))
        self.session_id: object = (body.get("stripe") or {}).get("session_id")
        nfc = body.get("nfc") or {}
        self.nfc: str = str(nfc.get("status"))
        self.failure: object = nfc.get("failure_reason")

    def state(self) -> str:
        return _STATES.get((self.stripe, self.nfc), f"{self.stripe}+{self.nfc}")

    @property
    def overall(self) -> str:
        if "verified" in (self.stripe, self.nfc):
            return "verified"
        return "pending" if self.stripe in ("requires_input", "processing") else "unverified"

    # --- actions -----------------------------------------------------------------------------------
    def act_create_session(self, row: Row) -> None:
        """GET verification-session: 200 with a vs_ session id, client credentials and status requires_input."""
        exchange = self.send("appCreateVerificationSession", user=self.user)
        body = self.answer(exchange)
        secrets = [body.get("client_secret"), body.get("ephemeral_key_secret")]
        self.ctx.redactor.add(*(s for s in secrets if isinstance(s, str)))
        session_id = body.get("session_id")
        self.check(
            _IDV_SESSION,
            isinstance(session_id, str)
            and session_id.startswith("vs_")
            and body.get("status") == "requires_input"
            and all(isinstance(s, str) and s for s in secrets),
            expected="session_id vs_..., client_secret and ephemeral_key_secret present, status requires_input",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )
        self.stripe, self.session_id = "requires_input", session_id

    def submit(self, row: Row) -> None:
        failing = _SUBMISSIONS[row.action][0]
        today = datetime.now(UTC).date()
        strategy = nfc_submissions(today=today) if not failing else nfc_submissions_failing(checks=failing, today=today)
        payload = self.draw(strategy, label=row.action)
        exchange = self.send("appSubmitNfcVerification", user=self.user, json_body=payload)
        body = self.answer(exchange)
        if failing:
            if self.nfc != "verified":
                self.nfc, self.failure = "failed", _CODES[failing[0]]
            return
        self.judge_verified(exchange, body, payload)
        self.nfc, self.failure = "verified", None

    act_submit_valid = act_submit_bad_check_digit = act_submit_expired = act_submit_tampered = submit
    act_submit_chip_failed = act_submit_failing_all = act_submit_failing_from_expiry = submit
    act_submit_failing_from_integrity = submit

    def judge_verified(self, exchange: Any, body: dict[str, Any], payload: dict[str, Any]) -> None:
        """A passed submission: every documented check passed, and it echoes the MRZ's issuing state and
        expiry date (ICAO 9303: line 1 characters 3-5; line 2 characters 22-27, YYMMDD)."""
        line1, line2 = str(payload["mrz"]).split("\n")
        expiry = line2[21:27]
        expiry_date = date(2000 + int(expiry[:2]), int(expiry[2:4]), int(expiry[4:])).isoformat()
        checks = body.get("checks") or {}
        documented = self.ctx.contract.schema("NfcVerificationChecks").get("required", [])
        want = {
            "status": "verified",
            "document_type": "passport",
            "issuing_country": line1[2:5],
            "expiry_date": expiry_date,
        }
        seen = {key: body.get(key) for key in want}
        self.check(
            _IDV_NFC_VALID,
            seen == want and isinstance(checks, dict) and all(checks.get(name) == "passed" for name in documented),
            expected=f"{want} (the MRZ's issuing state and expiry date), every documented check passed",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )

    # --- views ---------------------------------------------------------------------------------------
    def views(self, row: Row) -> None:
        """The verification status, the profile validation and the profile: each shows what the model holds."""
        self.status_matches_model()
        self.validation_agrees()

    def status_matches_model(self) -> None:
        """GET verification-status: overall, Stripe and NFC status (and failure reason) equal the model."""
        exchange = self.send("appGetVerificationStatus", user=self.user)
        body = self.expect(_IDV_STATUS_MODEL, exchange, 200, what="the verification status")
        stripe, nfc = body.get("stripe") or {}, body.get("nfc") or {}
        seen = (
            body.get("overall_status"),
            body.get("is_verified"),
            stripe.get("status"),
            stripe.get("session_id"),
            nfc.get("status"),
            nfc.get("failure_reason"),
            nfc.get("verified_at") is not None,
        )
        want = (
            self.overall,
            self.overall == "verified",
            self.stripe,
            self.session_id,
            self.nfc,
            self.failure,
            self.nfc == "verified",
        )
        self.check(
            _IDV_STATUS_MODEL,
            seen == want,
            exchange=exchange,
            expected=f"overall, is_verified, stripe status, session, nfc status, failure, nfc verified_at set = {want}",
            actual=str(seen),
        )

    def validation_agrees(self) -> None:
        """GET profile-validation and /users/me: identity_verified equals the model."""
        for operation_id in ("getProfileValidation", "getMyProfile"):
            exchange = self.send(operation_id, user=self.user)
            body = self.expect(PROFILE_VALIDATION_STATE, exchange, 200, what=operation_id)
            verified = self.overall == "verified"
            missing = body.get("missing") if operation_id == "getProfileValidation" else None
            consistent = missing is None or (("identity_verification" in missing) != verified)
            self.check(
                PROFILE_VALIDATION_STATE,
                body.get("identity_verified") is verified and consistent,
                expected=f"identity_verified {verified}" + ("" if missing is None else " and missing agreeing"),
                actual=self.ctx.actual(exchange),
                exchange=exchange,
            )


IDENTITY = MachineSpec(
    "identity",
    IdentityLifecycle,
    requirements=(
        _IDV_SESSION,
        _IDV_NFC_VALID,
        _IDV_NFC_MRZ,
        _IDV_NFC_EXPIRY,
        _IDV_NFC_INTEGRITY,
        _IDV_NFC_CHIP,
        _IDV_NFC_ORDER,
        _IDV_STATUS_MODEL,
        PROFILE_VALIDATION_STATE,
    ),
    table=IDENTITY_TABLE,
    steps=8,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
