"""Inbox adapters: Mailpit (against a recorded API answer), command, fixed, and the parser."""

from __future__ import annotations

import json
import sys

import httpx
import pytest

from conformance.inbox import CommandInbox, FixedInbox, InboxError, MailpitInbox, parse_inbox
from conformance.redact import Redactor

SENDER = {"Name": "Kesk", "Address": "no-reply@kesk.app"}

# Recorded from Mailpit's API (v1): a search answer lists summaries newest first; a message has Text.
SEARCH_ANSWER = {
    "total": 2,
    "unread": 2,
    "count": 2,
    "messages_count": 2,
    "start": 0,
    "tags": [],
    "messages": [
        {
            "ID": "newest",
            "MessageID": "m2@kesk",
            "Read": False,
            "From": SENDER,
            "To": [{"Name": "", "Address": "anna@example.com"}],
            "Cc": [],
            "Bcc": [],
            "ReplyTo": [],
            "Subject": "Confirm your data export",
            "Created": "2026-11-25T08:00:02Z",
            "Tags": [],
            "Size": 812,
            "Attachments": 0,
            "Snippet": "Your code is 731904",
        },
        {
            "ID": "older",
            "MessageID": "m1@kesk",
            "Read": False,
            "From": SENDER,
            "To": [{"Name": "", "Address": "anna@example.com"}],
            "Cc": [],
            "Bcc": [],
            "ReplyTo": [],
            "Subject": "Confirm your data export",
            "Created": "2026-11-25T08:00:01Z",
            "Tags": [],
            "Size": 812,
            "Attachments": 0,
            "Snippet": "Your code is 111111",
        },
    ],
}
MESSAGES = {
    "newest": {"ID": "newest", "Subject": "Confirm your data export", "Text": "Your code is 731904.\r\n", "HTML": ""},
    "older": {"ID": "older", "Subject": "Confirm your data export", "Text": "Your code is 111111.\r\n", "HTML": ""},
}


def recorded_mailpit(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v1/search":
        assert request.url.params["query"] == 'to:"anna@example.com"'
        return httpx.Response(200, json=SEARCH_ANSWER)
    message_id = request.url.path.rsplit("/", 1)[-1]
    return httpx.Response(200, json=MESSAGES[message_id])


def test_mailpit_takes_the_code_of_the_newest_message_and_registers_it_as_a_secret() -> None:
    # Given a Mailpit API answering with two messages to the address
    redactor = Redactor()
    inbox = MailpitInbox("http://mailpit.test", redactor, transport=httpx.MockTransport(recorded_mailpit))
    # When
    code = inbox.latest_code(channel="email", address="anna@example.com", purpose="data_export")
    # Then
    assert code == "731904"
    assert "731904" not in redactor.text("the code 731904")


def test_mailpit_pattern_is_configurable_and_sms_is_not_its_channel() -> None:
    inbox = MailpitInbox(
        "http://mailpit.test", Redactor(), pattern=r"code is (\d{3})", transport=httpx.MockTransport(recorded_mailpit)
    )
    assert inbox.latest_code(channel="email", address="anna@example.com", purpose="x") == "731"
    assert inbox.latest_code(channel="sms", address="+358401234567", purpose="x") is None


def test_mailpit_errors_are_inbox_errors_without_traceback_material() -> None:
    inbox = MailpitInbox(
        "http://mailpit.test", Redactor(), transport=httpx.MockTransport(lambda request: httpx.Response(500))
    )
    with pytest.raises(InboxError, match="cannot read Mailpit"):
        inbox.latest_code(channel="email", address="a@example.com", purpose="x")


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


@pytest.mark.parametrize("spec", ["mailpit", "command:", "imap:server", "fixed:"])
def test_parse_inbox_names_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="test-support, mailpit:URL, command:CMD or fixed:CODE"):
        parse_inbox(spec, base_url="http://x/v1", redactor=Redactor())
