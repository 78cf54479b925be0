"""Permanent account deletion with the password, then the token is dead on every operation.

Every path acts as a fresh disposable user: the right password really deletes it. The table
(ACCOUNT_TABLE): while the account is active, a wrong password is refused (403 invalid_password) and the
token works; once it is deleted, the token answers 401 on every operation, deleting again included.
"""

from __future__ import annotations

from conformance.checks._samples import sample_path_parameters
from conformance.checks.auth import ALL_OPERATIONS
from conformance.checks.lifecycles._base import Lifecycle, MachineSpec, owned
from conformance.checks.lifecycles._table import Row, Table, row
from conformance.context import CheckContext
from conformance.failures import SkipRequirement
from conformance.requirements import Need

__all__ = ["ACCOUNT", "ACCOUNT_TABLE", "AccountDeletionLifecycle"]

_NEEDS = (Need.DESTRUCTIVE, Need.PASSWORD)

_ACCOUNT_DELETE_PASSWORD = owned(
    "ACCOUNT-DELETE-PASSWORD",
    cites=("rule:DELETE-ACCOUNT-PASSWORD", "seed:deleteAccount"),
    needs=_NEEDS,
    title="Permanent deletion needs the account password",
    operations=("deleteAccount", "getMyProfile"),
    doc="Deletes a disposable user with a wrong password (403 invalid_password; the account still works), "
    "then with the right one (200 deleted).",
)
_ACCOUNT_DELETE_TOKEN_REVOKED = owned(
    "ACCOUNT-DELETE-TOKEN-REVOKED",
    cites=("rule:DELETE-ACCOUNT-PASSWORD",),
    needs=_NEEDS,
    title="After permanent deletion the token answers 401 everywhere",
    operations=ALL_OPERATIONS,
    doc="After deleting a disposable user, sends every one of the 30 operations with its token: 401 each.",
)
_PASSWORD, _REVOKED = _ACCOUNT_DELETE_PASSWORD.id, _ACCOUNT_DELETE_TOKEN_REVOKED.id
_UNAUTHORIZED = (401, "unauthorized")

ACCOUNT_TABLE = Table(
    "account-deletion-permanent",
    "active",
    [
        row("active", "delete_wrong_password", (403, "invalid_password"), "active", _PASSWORD),
        row("active", "use_token", 200, "active", _PASSWORD),
        row("active", "delete", 200, "deleted", _PASSWORD),
        row("deleted", "use_token", _UNAUTHORIZED, "deleted", _REVOKED),
        row("deleted", "use_every_operation", _UNAUTHORIZED, "deleted", _REVOKED),
        row("deleted", "delete", _UNAUTHORIZED, "deleted", _REVOKED),
    ],
)


class AccountDeletionLifecycle(Lifecycle):
    table = ACCOUNT_TABLE

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.user = ctx.disposable_user()
        if not self.user.password:
            raise SkipRequirement("needs the disposable users' passwords: the user factory gave none")
        self.password: str = self.user.password
        self.deleted = False

    def state(self) -> str:
        return "deleted" if self.deleted else "active"

    def act_delete_wrong_password(self, row: Row) -> None:
        """POST /account/delete with the password plus a character: 403 invalid_password."""
        suffix = self.ctx.rng.choice(["x", "0", " ", "!"])
        self.answer(self.send("deleteAccount", user=self.user, json_body={"password": self.password + suffix}))

    def act_use_token(self, row: Row) -> None:
        """GET /users/me: 200 while the account exists, 401 unauthorized once it is deleted."""
        self.answer(self.send("getMyProfile", user=self.user))

    def act_delete(self, row: Row) -> None:
        """POST /account/delete with the right password: 200 deleted (401 once the account is gone)."""
        exchange = self.send("deleteAccount", user=self.user, json_body={"password": self.password})
        body = self.answer(exchange)
        if exchange.status == 200:
            self.check(
                _PASSWORD,
                body.get("deleted") is True,
                exchange=exchange,
                expected="deleted: true",
                actual=self.ctx.actual(exchange),
            )
            self.deleted = True

    def act_use_every_operation(self, row: Row) -> None:
        """Every operation of the contract with the deleted account's token: 401 unauthorized each."""
        for operation_id in ALL_OPERATIONS:
            op = self.ctx.operations[operation_id]
            self.answer(
                self.send(
                    operation_id,
                    user=self.user,
                    path_params=sample_path_parameters(op.path_parameters),
                    json_body=self.ctx.operations.sample_body(operation_id),
                ),
                what=f"{operation_id} with the deleted account's token",
            )

    def views(self, row: Row) -> None:
        """GET /users/me after a step that could delete the account: 200 while it exists, 401 after."""
        if row.action in ("delete", "delete_wrong_password"):
            exchange = self.send("getMyProfile", user=self.user)
            if self.deleted:
                self.expect(_REVOKED, exchange, 401, code="unauthorized", what="the deleted account's token")
            else:
                self.expect(_PASSWORD, exchange, 200, what="the account after a refused deletion")


ACCOUNT = MachineSpec(
    "account-deletion-permanent",
    AccountDeletionLifecycle,
    requirements=(_ACCOUNT_DELETE_PASSWORD, _ACCOUNT_DELETE_TOKEN_REVOKED),
    table=ACCOUNT_TABLE,
    steps=4,
    max_examples=3,
)
