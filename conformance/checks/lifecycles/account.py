"""Permanent account deletion with the password, then the token is dead on every operation.

Every example acts as a fresh disposable user: the right password really deletes it.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.checks._samples import sample_path_parameters
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.context import CheckContext
from conformance.failures import SkipRequirement
from conformance.requirements import Need

__all__ = ["ACCOUNT", "AccountDeletionLifecycle"]


class AccountDeletionLifecycle(Lifecycle):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user()
        if not self.user.password:
            raise SkipRequirement("needs the disposable users' passwords: the user factory gave none")
        self.password: str = self.user.password
        self.deleted = False

    @precondition(lambda self: not self.deleted)
    @rule(suffix=st.sampled_from(["x", "0", " ", "!"]))
    def delete_with_wrong_password(self, suffix: str) -> None:
        """POST /account/delete with the password plus a character: 403 invalid_password, the account still works."""
        exchange = self.send("deleteAccount", user=self.user, json_body={"password": self.password + suffix})
        self.expect(
            "ACCOUNT-DELETE-PASSWORD", exchange, 403, code="invalid_password", what="a wrong password is refused"
        )
        profile = self.send("getMyProfile", user=self.user)
        self.expect("ACCOUNT-DELETE-PASSWORD", profile, 200, what="the account still works after a wrong password")

    @precondition(lambda self: not self.deleted)
    @rule()
    def delete(self) -> None:
        """POST /account/delete with the right password: 200 deleted; then every operation answers 401."""
        exchange = self.send("deleteAccount", user=self.user, json_body={"password": self.password})
        body = self.expect("ACCOUNT-DELETE-PASSWORD", exchange, 200, what="the right password deletes the account")
        self.check(
            "ACCOUNT-DELETE-PASSWORD",
            isinstance(body, dict) and body.get("deleted") is True,
            exchange=exchange,
            expected="deleted: true",
            actual=self.ctx.actual(exchange),
        )
        self.deleted = True
        for operation_id in ALL_OPERATIONS:
            op = self.ctx.operations[operation_id]
            answer = self.send(
                operation_id,
                user=self.user,
                path_params=sample_path_parameters(op.path_parameters),
                json_body=self.ctx.operations.sample_body(operation_id),
            )
            self.expect(
                "ACCOUNT-DELETE-TOKEN-REVOKED",
                answer,
                401,
                code="unauthorized",
                what="the deleted account's token is refused everywhere",
            )

    @rule()
    def use_token(self) -> None:
        """GET /users/me once more (the step that is always possible, before and after the deletion)."""
        self.token_state()

    @invariant()
    def token_state(self) -> None:
        """GET /users/me: 200 while the account exists, 401 once it is deleted."""
        exchange = self.send("getMyProfile", user=self.user)
        if self.deleted:
            self.expect(
                "ACCOUNT-DELETE-TOKEN-REVOKED", exchange, 401, code="unauthorized", what="the deleted account's token"
            )
        else:
            self.expect("ACCOUNT-DELETE-PASSWORD", exchange, 200, what="the account before its deletion")


_NEEDS = (Need.DESTRUCTIVE, Need.PASSWORD)

_ACCOUNT_DELETE_PASSWORD = owned(
    "ACCOUNT-DELETE-PASSWORD",
    cites=("rule:DELETE-ACCOUNT-PASSWORD", "seed:deleteAccount"),
    needs=_NEEDS,
    title="Permanent deletion needs the account password",
    operations=("deleteAccount", "getMyProfile"),
    doc="Deletes a disposable user with wrong passwords (403 invalid_password; the account still works), "
    "then with the right one (200).",
)
_ACCOUNT_DELETE_TOKEN_REVOKED = owned(
    "ACCOUNT-DELETE-TOKEN-REVOKED",
    cites=("rule:DELETE-ACCOUNT-PASSWORD",),
    needs=_NEEDS,
    title="After permanent deletion the token answers 401 everywhere",
    operations=ALL_OPERATIONS,
    doc="After deleting a disposable user, sends every one of the 30 operations with its token: 401 each.",
)

ACCOUNT = MachineSpec(
    "account-deletion-permanent",
    AccountDeletionLifecycle,
    requirements=(_ACCOUNT_DELETE_PASSWORD, _ACCOUNT_DELETE_TOKEN_REVOKED),
    steps=4,
    max_examples=3,
)
