"""Inbox adapters: Mailpit and MailDev (recorded API answers served over real HTTP), command, fixed, the parser."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conformance.inbox import (
    ChannelInboxes,
    CommandInbox,
    FixedInbox,
    InboxError,
    MailDevInbox,
    MailpitInbox,
    TestSupportInbox,
    channel_inboxes,
    mentions_purpose,
    parse_inbox,
    split_channels,
)
from conformance.redact import Redactor

Answer = tuple[int, Any]


class RecordedApi:
    """A loopback HTTP server answering GET paths from a table of recorded JSON answers."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, list[str]]], Answer]] = {}
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                api.requests.append(self.path)
                route = api.routes.get(url.path)
                status, body = route(parse_qs(url.query)) if route else (404, {"error": "not found"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RecordedApi:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def api() -> Iterator[RecordedApi]:
    with RecordedApi() as server:
        yield server


# --- Mailpit ------------------------------------------------------------------------------------
# Shapes of Mailpit's API v1 as its source documents them (server/apiv1/messages.go MessagesSummary,
# internal/storage/structs.go MessageSummary and Message): GET /api/v1/search?query=... lists summaries
# sorted by received date, newest first; GET /api/v1/message/{ID} has Subject, Text and HTML.
SENDER = {"Name": "Kesk", "Address": "no-reply@kesk.app"}


def mailpit_summary(message_id: str, subject: str, created: str, snippet: str) -> dict[str, Any]:
    return {
        "ID": message_id,
        "MessageID": f"{message_id}@kesk",
        "Read": False,
        "From": SENDER,
        "To": [{"Name": "", "Address": "anna@example.com"}],
        "Cc": [],
        "Bcc": [],
        "ReplyTo": [],
        "Subject": subject,
        "Created": created,
        "Username": "",
        "Tags": [],
        "Size": 812,
        "Attachments": 0,
        "Snippet": snippet,
    }


def mailpit_message(message_id: str, subject: str, text: str, html: str = "") -> dict[str, Any]:
    return {
        "ID": message_id,
        "MessageID": f"{message_id}@kesk",
        "From": SENDER,
        "To": [{"Name": "", "Address": "anna@example.com"}],
        "Cc": [],
        "Bcc": [],
        "ReplyTo": [],
        "ReturnPath": "no-reply@kesk.app",
        "Subject": subject,
        "ListUnsubscribe": {"Header": "", "Links": [], "Errors": "", "HeaderPost": ""},
        "Date": "2026-11-25T08:00:02Z",
        "Tags": [],
        "Username": "",
        "Text": text,
        "HTML": html,
        "Size": 812,
        "Inline": [],
        "Attachments": [],
    }


MAILPIT_MESSAGES = {
    "deletion": mailpit_message("deletion", "Confirm your account deletion", "Your code is 505050.\r\n"),
    "newest": mailpit_message("newest", "Confirm your data export", "Your code is 731904.\r\n"),
    "older": mailpit_message("older", "Confirm your data export", "Your code is 111111.\r\n"),
}
MAILPIT_SUMMARIES = [
    mailpit_summary("deletion", "Confirm your account deletion", "2026-11-25T08:00:03.120Z", "Your code is 505050"),
    mailpit_summary("newest", "Confirm your data export", "2026-11-25T08:00:02.010Z", "Your code is 731904"),
    mailpit_summary("older", "Confirm your data export", "2026-11-25T08:00:01.500Z", "Your code is 111111"),
]


def serve_mailpit(api: RecordedApi, summaries: list[dict[str, Any]], messages: dict[str, Any]) -> None:
    def search(query: dict[str, list[str]]) -> Answer:
        assert query["query"] == ['to:"anna@example.com"']
        count = len(summaries)
        return 200, {
            "total": count,
            "unread": count,
            "count": count,
            "messages_count": count,
            "messages_unread": count,
            "start": 0,
            "tags": [],
            "messages": summaries,
        }

    api.routes["/api/v1/search"] = search
    for message_id, message in messages.items():
        api.routes[f"/api/v1/message/{message_id}"] = lambda query, message=message: (200, message)


def test_mailpit_takes_the_newest_code_for_the_purpose_and_registers_it_as_a_secret(api: RecordedApi) -> None:
    # Given a Mailpit holding two data-export mails and a newer deletion mail for the address
    serve_mailpit(api, MAILPIT_SUMMARIES, MAILPIT_MESSAGES)
    redactor = Redactor()
    inbox = MailpitInbox(api.url, redactor)
    # When
    code = inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")
    # Then the newest data-export code, not the deletion one, found through search then message
    assert code == "731904"
    assert "731904" not in redactor.text("the code 731904")
    assert [r.split("?")[0] for r in api.requests] == [
        "/api/v1/search",
        "/api/v1/message/deletion",
        "/api/v1/message/newest",
    ]


def test_mailpit_pattern_is_configurable_and_sms_is_not_its_channel(api: RecordedApi) -> None:
    serve_mailpit(api, MAILPIT_SUMMARIES, MAILPIT_MESSAGES)
    inbox = MailpitInbox(api.url, Redactor(), pattern=r"code is (\d{3})")
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="account_deletion") == "505"
    assert inbox.latest_code(channel="sms", address="+358401234567", purpose="phone_verification") is None


def test_mailpit_reads_the_code_of_an_html_only_mail(api: RecordedApi) -> None:
    html = mailpit_message("html", "Verify your email", "", "<p>Your code: <b>246810</b></p>")
    summary = mailpit_summary("html", "Verify your email", "2026-11-25T08:00:04Z", "Your code: 246810")
    serve_mailpit(api, [summary], {"html": html})
    inbox = MailpitInbox(api.url, Redactor())
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="email_verification") == "246810"


def test_mailpit_errors_are_inbox_errors_without_traceback_material(api: RecordedApi) -> None:
    api.routes["/api/v1/search"] = lambda query: (500, {"error": "database is locked"})
    inbox = MailpitInbox(api.url, Redactor())
    with pytest.raises(
        InboxError, match=r"^cannot read Mailpit at http://127\.0\.0\.1:\d+/api/v1/search: HTTPStatusError$"
    ):
        inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")


def test_mailpit_waits_briefly_for_a_mail_newer_than_the_one_it_already_answered(api: RecordedApi) -> None:
    # Given a Mailpit whose newest data-export mail the inbox has already answered
    summaries = list(MAILPIT_SUMMARIES[1:])
    serve_mailpit(api, summaries, dict(MAILPIT_MESSAGES, newer=mailpit_message("newer", "Data export", "Code 909090")))
    inbox = MailpitInbox(api.url, Redactor(), wait_s=5.0, poll_s=0.05)
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export") == "731904"
    # When the next mail arrives a moment after the next question
    arrival = threading.Timer(0.3, lambda: summaries.insert(0, mailpit_summary("newer", "Data export", "", "")))
    arrival.start()
    started = time.monotonic()
    code = inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")
    arrival.join()
    # Then the inbox waited for it
    assert code == "909090"
    assert 0.25 < time.monotonic() - started < 3


# --- MailDev ------------------------------------------------------------------------------------
def maildev_mail(mail_id: str, to: str, subject: str, text: str, received: str) -> dict[str, Any]:
    """One entry of MailDev 3.0.0's GET /api/email, as it answered for a mail sent by smtplib."""
    return {
        "id": mail_id,
        "time": received,
        "read": False,
        "subject": subject,
        "source": f"/tmp/maildev/{mail_id}.eml",
        "size": 213,
        "sizeHuman": "213 Bytes",
        "from": [{"address": "no-reply@kesk.example", "name": "Kesk"}],
        "to": [{"address": to, "name": ""}],
        "date": received,
        "headers": {"subject": subject, "content-transfer-encoding": "7bit", "mime-version": "1.0"},
        "attachments": [],
        "envelope": {"from": {"address": "no-reply@kesk.example", "args": {"SIZE": "213"}}, "to": [{"address": to}]},
        "calculatedBcc": [],
        "text": text,
    }


MAILDEV_MAILS = [  # MailDev lists mail in the order it arrived, oldest first
    maildev_mail(
        "a1", "anna@example.com", "Your Kesk data export code", "Your code is 111111.\n", "2026-11-30T21:30:31.005Z"
    ),
    maildev_mail(
        "b1", "bert@example.com", "Your Kesk data export code", "Your code is 222222.\n", "2026-11-30T21:30:32.005Z"
    ),
    maildev_mail(
        "a2", "Anna@Example.com", "Your Kesk data export code", "Your code is 333333.\n", "2026-11-30T21:30:33.005Z"
    ),
    maildev_mail(
        "a3", "anna@example.com", "Your Kesk account deletion code", "Code 444444.\n", "2026-11-30T21:30:34.005Z"
    ),
]


def test_maildev_takes_the_newest_code_to_the_address_for_the_purpose(api: RecordedApi) -> None:
    # Given
    api.routes["/api/email"] = lambda query: (200, MAILDEV_MAILS)
    redactor = Redactor()
    inbox = MailDevInbox(api.url, redactor)
    # When
    export = inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")
    deletion = inbox.latest_code(channel="email", address="ANNA@example.com", purpose="account_deletion")
    # Then
    assert (export, deletion) == ("333333", "444444")
    assert "333333" not in redactor.text("333333") and "444444" not in redactor.text("444444")


def test_maildev_waits_for_a_mail_that_has_not_arrived_yet(api: RecordedApi) -> None:
    # Given a MailDev that receives the mail a moment after the question
    mails: list[dict[str, Any]] = []
    api.routes["/api/email"] = lambda query: (200, mails)
    inbox = MailDevInbox(api.url, Redactor(), wait_s=5.0, poll_s=0.05)
    mail = maildev_mail("c1", "cleo@example.com", "Your Kesk email verification code", "It is 123456.", "")
    arrival = threading.Timer(0.3, lambda: mails.append(mail))
    arrival.start()
    # When
    code = inbox.latest_code(channel="email", address="cleo@example.com", purpose="email_verification")
    arrival.join()
    # Then
    assert code == "123456"


def test_maildev_gives_up_after_its_wait_when_no_mail_comes(api: RecordedApi) -> None:
    api.routes["/api/email"] = lambda query: (200, MAILDEV_MAILS)
    inbox = MailDevInbox(api.url, Redactor(), wait_s=0.3, poll_s=0.05)
    started = time.monotonic()
    assert inbox.latest_code(channel="email", address="dora@example.com", purpose="data_export") is None
    assert 0.25 < time.monotonic() - started < 2
    # and once the newest code was answered, asking again answers it again after the wait
    assert inbox.latest_code(channel="email", address="bert@example.com", purpose="data_export") == "222222"
    assert inbox.latest_code(channel="email", address="bert@example.com", purpose="data_export") == "222222"


def test_maildev_is_asked_for_the_mail_to_the_address_and_looks_through_all_once_its_wait_is_over(
    api: RecordedApi,
) -> None:
    # Given a MailDev that filters by recipient on its side, and a server that wrote the address in another case
    def answer(query: dict[str, list[str]]) -> Answer:
        wanted = query.get("to.address")
        return 200, [m for m in MAILDEV_MAILS[1:3] if wanted is None or m["to"][0]["address"] == wanted[0]]

    api.routes["/api/email"] = answer
    inbox = MailDevInbox(api.url, Redactor(), wait_s=0.3, poll_s=0.05)
    # When / Then: the mail to the address as written comes from a filtered question
    assert inbox.latest_code(channel="email", address="bert@example.com", purpose="data_export") == "222222"
    assert api.requests[0] == "/api/email?to.address=bert%40example.com"
    # and the mail only to the address in another case, from the look through every mail after the wait
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export") == "333333"
    assert api.requests[-1] == "/api/email"


def test_mail_a_user_had_before_the_run_is_no_code_of_the_run(api: RecordedApi) -> None:
    # Given a user handed over with history: the catcher holds a data-export code sent before the run had the user
    mails = [MAILDEV_MAILS[0]]
    api.routes["/api/email"] = lambda query: (200, mails)
    inbox = MailDevInbox(api.url, Redactor(), wait_s=5.0, poll_s=0.05)
    inbox.note_history("anna@example.com")
    # When the run's own request mails a new code a moment after the question
    arrival = threading.Timer(0.3, lambda: mails.append(MAILDEV_MAILS[2]))
    arrival.start()
    code = inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")
    arrival.join()
    # Then the inbox waited for the new code instead of answering the old one
    assert code == "333333"


def test_history_alone_is_never_answered(api: RecordedApi) -> None:
    api.routes["/api/email"] = lambda query: (200, MAILDEV_MAILS[:1])
    inbox = MailDevInbox(api.url, Redactor(), wait_s=0.2, poll_s=0.05)
    inbox.note_history("ANNA@example.com")
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export") is None


def test_maildev_answers_that_are_not_a_mail_list_are_inbox_errors(api: RecordedApi) -> None:
    api.routes["/api/email"] = lambda query: (200, {"error": "no"})
    inbox = MailDevInbox(api.url, Redactor())
    with pytest.raises(InboxError, match=r"cannot read MailDev at .*/api/email: not a list of messages"):
        inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")


def test_maildev_credentials_in_the_url_stay_out_of_its_description() -> None:
    inbox = MailDevInbox("http://catcher:s3cret@127.0.0.1:1080/", Redactor())
    assert inbox.description == "MailDev at http://127.0.0.1:1080"


# --- purposes, channels, parsing -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "purpose", "names_it"),
    [
        ("Your Kesk account deletion code", "account_deletion", True),
        ("Delete your account", "account_deletion", True),
        ("Verify your email", "email_verification", True),
        ("Confirm your data export", "data_export", True),
        ("Confirm your data export", "account_deletion", False),
        ("Verify your phone", "email_verification", False),
    ],
)
def test_a_mail_names_its_purpose_by_the_stems_of_its_words(text: str, purpose: str, names_it: bool) -> None:
    assert mentions_purpose(text, purpose) is names_it


def test_channel_inboxes_read_each_channel_from_its_own_inbox(api: RecordedApi) -> None:
    # Given a MailDev for e-mail and a test-support outbox holding an SMS code
    api.routes["/api/email"] = lambda query: (200, MAILDEV_MAILS)
    sms = {"address": "+358401234567", "purpose": "phone_verification", "channel": "sms", "code": "777777"}
    api.routes["/v1/_test/outbox"] = lambda query: (200, {"messages": [sms]})
    inbox = ChannelInboxes(
        {"email": MailDevInbox(api.url, Redactor()), "sms": TestSupportInbox(api.url + "/v1", Redactor())}
    )
    # When / Then
    assert inbox.latest_code(channel="sms", address="+358401234567", purpose="phone_verification") == "777777"
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export") == "333333"
    assert inbox.sources() == {"email": f"maildev:{api.url}", "sms": f"test-support:{api.url}/v1"}


def test_a_channel_without_an_inbox_is_not_served_and_says_which_flag() -> None:
    inbox = ChannelInboxes({"email": FixedInbox("424242", Redactor())})
    assert inbox.serves("email") and not inbox.serves("sms")
    with pytest.raises(InboxError, match=r"pass --inbox sms=SPEC"):
        inbox.latest_code(channel="sms", address="+358401234567", purpose="phone_verification")


def _sources(entries: list[str], *, test_support: str | None = None) -> dict[str, str] | None:
    found = channel_inboxes(entries, test_support=test_support, base_url="http://api/v1", redactor=Redactor())
    return None if found is None else found.sources()


@pytest.mark.parametrize(
    ("entries", "test_support", "sources"),
    [
        # a mail catcher alone: e-mail only; nothing is looked up at the base URL for SMS
        (["maildev:http://m:1080"], None, {"email": "maildev:http://m:1080"}),
        # ... with test support given, SMS codes come from its outbox
        (
            ["maildev:http://m:1080"],
            "http://ts/v1",
            {"email": "maildev:http://m:1080", "sms": "test-support:http://ts/v1"},
        ),
        # one inbox per channel
        (
            ["email=mailpit:http://m:8025", "sms=command:./read-sms --key s3cret"],
            None,
            {"email": "mailpit:http://m:8025", "sms": "command:./read-sms ..."},
        ),
        # the outbox, asked for by name, at the base URL
        (
            ["email=maildev:http://m:1080", "sms=test-support"],
            None,
            {"email": "maildev:http://m:1080", "sms": "test-support:http://api/v1"},
        ),
        # a bare SPEC that can read every channel serves those not named (the old single --inbox)
        (["command:./read"], None, {"email": "command:./read", "sms": "command:./read"}),
        (["fixed:123456", "sms=command:./read"], None, {"email": "fixed", "sms": "command:./read"}),
        (["test-support"], None, {"email": "test-support:http://api/v1", "sms": "test-support:http://api/v1"}),
        # no --inbox: the outbox only where there is test support
        ([], "http://ts/v1", {"email": "test-support:http://ts/v1", "sms": "test-support:http://ts/v1"}),
        ([], None, None),
    ],
)
def test_each_channel_gets_the_inbox_the_user_named(
    entries: list[str], test_support: str | None, sources: dict[str, str] | None
) -> None:
    assert _sources(entries, test_support=test_support) == sources


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["fax=command:x"], "'fax' is not a channel; use email or sms"),
        (["sms=command:a", "sms=command:b"], "--inbox sms= is given twice"),
        (["command:a", "fixed:1"], "give one SPEC per channel, as CHANNEL=SPEC"),
    ],
)
def test_bad_channel_entries_name_what_to_fix(entries: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        split_channels(entries)


def test_a_command_with_an_equals_sign_is_a_bare_spec() -> None:
    assert split_channels(["command:./read --mode=sms"]) == ({}, "command:./read --mode=sms")


@pytest.mark.parametrize(
    ("spec", "catcher"), [("maildev:http://m:1080", MailDevInbox), ("mailpit:http://m:8025", MailpitInbox)]
)
def test_parse_inbox_builds_a_mail_catcher_for_email_only(spec: str, catcher: type) -> None:
    inbox = parse_inbox(spec, base_url="http://x/v1", redactor=Redactor())
    assert isinstance(inbox, catcher)
    assert inbox.latest_code(channel="sms", address="+358401234567", purpose="phone_verification") is None


def test_command_inbox_gets_channel_address_purpose() -> None:
    script = "import sys; print('9' + str(len(sys.argv[1:])) + '4242')"
    inbox = CommandInbox(f"{sys.executable} -c {json.dumps(script)}", Redactor())
    assert inbox.latest_code(channel="sms", address="+358401234567", purpose="phone_verification") == "934242"


def test_command_inbox_failure_is_reported() -> None:
    inbox = CommandInbox(f"{sys.executable} -c 'raise SystemExit(3)'", Redactor())
    with pytest.raises(InboxError, match="exited 3"):
        inbox.latest_code(channel="email", address="a@example.com", purpose="x")


def test_fixed_inbox_answers_its_code_and_hides_it() -> None:
    redactor = Redactor()
    inbox = FixedInbox("424242", redactor)
    assert inbox.latest_code(channel="email", address="a@example.com", purpose="x") == "424242"
    assert "424242" not in redactor.text("424242")


@pytest.mark.parametrize("spec", ["mailpit", "maildev:", "maildev:localhost:1080", "command:", "imap:server", "fixed:"])
def test_parse_inbox_names_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="test-support, mailpit:URL, maildev:URL, command:CMD or fixed:CODE"):
        parse_inbox(spec, base_url="http://x/v1", redactor=Redactor())
