"""Identity verification: the Stripe-style session, NFC passport submissions and the status view.

The model holds the Stripe status (a session moves it to requires_input), the NFC status
(verified, or failed with the refusal code; a verified identity stays verified) and derives
the overall status. With a user factory every example acts as a fresh disposable user,
because a verified identity cannot be undone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis.stateful import initialize, invariant, rule

from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._nfc import submission
from conformance.checks.lifecycles._support import body_of
from conformance.context import CheckContext
from conformance.failures import UndecidedRequirement
from conformance.requirements import Sharing

__all__ = ["IDENTITY", "IdentityLifecycle"]

_REFUSALS = {
    "bad_check_digit": ("IDV-NFC-MRZ", "mrz_invalid"),
    "expired": ("IDV-NFC-EXPIRY", "document_expired"),
    "tampered_data_group": ("IDV-NFC-INTEGRITY", "data_group_mismatch"),
}


class IdentityLifecycle(Lifecycle):
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

    @property
    def overall(self) -> str:
        if "verified" in (self.stripe, self.nfc):
            return "verified"
        return "pending" if self.stripe in ("requires_input", "processing") else "unverified"

    @initialize()
    def every_clause_once(self) -> None:
        """A session, then each refused passport and a valid one, once per example (not left to the draw)."""
        self.create_session()
        for kind in ("bad_check_digit", "expired", "tampered_data_group", "valid"):
            self.submit(kind)

    @rule()
    def create_session(self) -> None:
        """GET verification-session: 200 with a vs_ session id, client credentials and status requires_input."""
        exchange = self.send("appCreateVerificationSession", user=self.user)
        body = self.expect("IDV-SESSION", exchange, 200, what="a verification session")
        secrets = [body.get("client_secret"), body.get("ephemeral_key_secret")]
        self.ctx.redactor.add(*(s for s in secrets if isinstance(s, str)))
        session_id = body.get("session_id")
        self.check(
            "IDV-SESSION",
            isinstance(session_id, str)
            and session_id.startswith("vs_")
            and body.get("status") == "requires_input"
            and all(isinstance(s, str) and s for s in secrets),
            expected="session_id vs_..., client_secret and ephemeral_key_secret present, status requires_input",
            actual=self.ctx.actual(exchange),
            exchange=exchange,
        )
        if self.stripe != "verified":
            self.stripe, self.session_id = "requires_input", session_id

    def submit(self, kind: str) -> None:
        today = datetime.now(UTC).date()
        payload = submission(kind, self.ctx.rng, today)
        exchange = self.send("appSubmitNfcVerification", user=self.user, json_body=payload)
        if kind == "valid":
            body = self.expect("IDV-NFC-VALID", exchange, 200, what="a valid, unexpired, intact passport verifies")
            checks = body.get("checks") or {}
            # The documented checks only: a server may add members the schema allows.
            documented = self.ctx.contract.schema("NfcVerificationChecks").get("required", [])
            self.check(
                "IDV-NFC-VALID",
                body.get("status") == "verified"
                and body.get("document_type") == "passport"
                and body.get("issuing_country") == "UTO"
                and isinstance(checks, dict)
                and all(checks.get(name) == "passed" for name in documented),
                expected="status verified, document_type passport, issuing_country UTO, every documented check passed",
                actual=self.ctx.actual(exchange),
                exchange=exchange,
            )
            self.nfc, self.failure = "verified", None
            return
        rid, code = _REFUSALS[kind]
        self.expect(rid, exchange, 422, code=code, what=f"a passport with {kind.replace('_', ' ')} is refused")
        if self.nfc != "verified":
            self.nfc, self.failure = "failed", code

    @rule()
    def submit_valid(self) -> None:
        """POST nfc/submit with a valid passport (check digits, future expiry, matching hashes): 200 verified."""
        self.submit("valid")

    @rule()
    def submit_bad_check_digit(self) -> None:
        """POST nfc/submit with a wrong document-number check digit: 422 mrz_invalid."""
        self.submit("bad_check_digit")

    @rule()
    def submit_expired(self) -> None:
        """POST nfc/submit with a passport that expired in 2015: 422 document_expired."""
        self.submit("expired")

    @rule()
    def submit_tampered(self) -> None:
        """POST nfc/submit with a DG2 whose hash differs from the security object's: 422 data_group_mismatch."""
        self.submit("tampered_data_group")

    @invariant()
    def status_matches_model(self) -> None:
        """GET verification-status: overall, Stripe and NFC status (and failure reason) equal the model."""
        exchange = self.send("appGetVerificationStatus", user=self.user)
        body = self.expect("IDV-STATUS-MODEL", exchange, 200, what="the verification status")
        stripe, nfc = body.get("stripe") or {}, body.get("nfc") or {}
        seen = (
            body.get("overall_status"),
            body.get("is_verified"),
            stripe.get("status"),
            stripe.get("session_id"),
            nfc.get("status"),
            nfc.get("failure_reason"),
        )
        want = (self.overall, self.overall == "verified", self.stripe, self.session_id, self.nfc, self.failure)
        self.check(
            "IDV-STATUS-MODEL",
            seen == want,
            exchange=exchange,
            expected=f"overall, is_verified, stripe status, session, nfc status, failure = {want}",
            actual=str(seen),
        )

    @invariant()
    def validation_agrees(self) -> None:
        """GET profile-validation and /users/me: identity_verified equals the model."""
        for operation_id in ("getProfileValidation", "getMyProfile"):
            exchange = self.send(operation_id, user=self.user)
            body = self.expect("PROFILE-VALIDATION-STATE", exchange, 200, what=operation_id)
            verified = self.overall == "verified"
            missing = body.get("missing") if operation_id == "getProfileValidation" else None
            consistent = missing is None or (("identity_verification" in missing) != verified)
            self.check(
                "PROFILE-VALIDATION-STATE",
                body.get("identity_verified") is verified and consistent,
                expected=f"identity_verified {verified}" + ("" if missing is None else " and missing agreeing"),
                actual=self.ctx.actual(exchange),
                exchange=exchange,
            )


_NFC = ("appSubmitNfcVerification", "appGetVerificationStatus")

_IDV_SESSION = owned(
    "IDV-SESSION",
    cites=("seed:appCreateVerificationSession",),
    title="A verification session carries its client credentials",
    operations=("appCreateVerificationSession", "appGetVerificationStatus"),
    doc="Creates verification sessions: session id, client secret, ephemeral key secret, status requires_input.",
)
_IDV_NFC_VALID = owned(
    "IDV-NFC-VALID",
    cites=("rule:NFC-VALIDATION", "seed:appSubmitNfcVerification"),
    title="A valid passport read over NFC verifies the identity",
    operations=_NFC,
    doc="Submits a valid TD3 passport (check digits, future expiry, matching data group hashes): 200 verified.",
)
_IDV_NFC_MRZ = owned(
    "IDV-NFC-MRZ",
    cites=("rule:NFC-VALIDATION",),
    title="A passport with a wrong MRZ check digit is refused",
    operations=_NFC,
    doc="Submits a passport whose document-number check digit is wrong: 422 mrz_invalid.",
)
_IDV_NFC_EXPIRY = owned(
    "IDV-NFC-EXPIRY",
    cites=("rule:NFC-VALIDATION",),
    title="An expired passport is refused",
    operations=_NFC,
    doc="Submits a passport that expired in 2015: 422 document_expired.",
)
_IDV_NFC_INTEGRITY = owned(
    "IDV-NFC-INTEGRITY",
    cites=("rule:NFC-VALIDATION",),
    title="A passport with a tampered data group is refused",
    operations=_NFC,
    doc="Submits a passport whose DG2 does not match its hash: 422 data_group_mismatch.",
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

IDENTITY = MachineSpec(
    "identity",
    IdentityLifecycle,
    requirements=(
        _IDV_SESSION,
        _IDV_NFC_VALID,
        _IDV_NFC_MRZ,
        _IDV_NFC_EXPIRY,
        _IDV_NFC_INTEGRITY,
        _IDV_STATUS_MODEL,
        PROFILE_VALIDATION_STATE,
    ),
    steps=8,
    sharing=Sharing.ALONE_ON_SHARED_USERS,
)
