"""Settings: flags over KESK_* variables over the TOML file; every mistake is one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.config import ConfigError, parse


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    # Given a file, an environment and flags that all set the seed
    config = tmp_path / "kesk.toml"
    config.write_text('seed = 1\nmax-examples = 3\nselect = ["AUTH-*"]\n')
    environ = {"KESK_SEED": "2", "KESK_MAX_EXAMPLES": "4"}
    # When
    settings = parse(["--config", str(config), "--seed", "3"], environ, prog="t")
    # Then
    assert settings.seed == 3
    assert settings.max_examples == 4
    assert settings.select == ["AUTH-*"]


def test_environment_lists_split_on_commas() -> None:
    settings = parse([], {"KESK_SELECT": "AUTH-*, BOLA-*", "KESK_STRICT": "true"}, prog="t")
    assert settings.select == ["AUTH-*", "BOLA-*"]
    assert settings.strict is True


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["--base-url", "ftp://x"], {}, "is not an http(s) URL"),
        (["--base-url", "https://staging.example.com/v1"], {}, "--base-url needs a user"),
        (["--max-examples", "0"], {}, "--max-examples must be at least 1"),
        (["--seed", "abc"], {}, "seed = 'abc' is not a valid"),
        ([], {"KESK_RATE_LIMIT": "-1"}, "--rate-limit must be a positive"),
        (["--base-url", "http://x/v1", "--token", "t", "--fault", "two_primaries"], {}, "--fault applies"),
    ],
)
def test_bad_values_are_one_line_errors(argv: list[str], environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(argv, environ, prog="t")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_token_value_is_never_echoed() -> None:
    # Given a token where a number is expected (a common copy-paste slip)
    with pytest.raises(ConfigError) as caught:
        parse([], {"KESK_TIMEOUT": "s3cr3t-token-value"}, prog="t")
    assert "timeout" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse(["--base-url", "https://x/v1", "--token", "abc", "--token-b", "def", "--max-examples", "x"], {}, prog="t")
    assert "abc" not in str(caught.value)


def test_unreadable_or_unknown_config_file_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        parse(["--config", str(tmp_path / "missing.toml")], {}, prog="t")
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse(["--config", str(broken)], {}, prog="t")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        parse(["--config", str(unknown)], {}, prog="t")


# --- inboxes per channel: flags, KESK_INBOX and the config file ------------------------------------------------
_BOTH = ["email=maildev:http://m:1080", "sms=command:./read-sms --key k"]


def test_inbox_flags_repeat_once_per_channel() -> None:
    argv = ["--inbox", _BOTH[0], "--inbox", _BOTH[1]]
    assert parse(argv, {}, prog="t").inbox == _BOTH


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ("maildev:http://m:1080", ["maildev:http://m:1080"]),  # the old single SPEC
        ("command:./read --mode x", ["command:./read --mode x"]),  # a command's arguments stay whole
        (" ".join(_BOTH), _BOTH),  # several, split before each CHANNEL=
        (";".join(_BOTH), _BOTH),
        ("maildev:http://m:1080, sms=command:./r", ["maildev:http://m:1080", "sms=command:./r"]),
    ],
)
def test_kesk_inbox_holds_one_spec_or_several_channels(value: str, entries: list[str]) -> None:
    assert parse([], {"KESK_INBOX": value}, prog="t").inbox == entries


@pytest.mark.parametrize(
    ("toml", "entries"),
    [
        ('inbox = "maildev:http://m:1080"\n', ["maildev:http://m:1080"]),
        ('inbox = ["email=maildev:http://m:1080", "sms=command:./read-sms --key k"]\n', _BOTH),
        ('[inbox]\nemail = "maildev:http://m:1080"\nsms = "command:./read-sms --key k"\n', _BOTH),
    ],
)
def test_the_config_file_gives_inboxes_as_a_string_a_list_or_a_table(
    tmp_path: Path, toml: str, entries: list[str]
) -> None:
    config = tmp_path / "kesk.toml"
    config.write_text(toml)
    assert parse(["--config", str(config)], {}, prog="t").inbox == entries


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--inbox", "phone=command:x"], "'phone' is not a channel; use email or sms"),
        (["--inbox", "sms=command:a", "--inbox", "sms=fixed:1"], "--inbox sms= is given twice"),
        (["--inbox", "command:a", "--inbox", "fixed:1"], "give one SPEC per channel, as CHANNEL=SPEC"),
    ],
)
def test_a_bad_inbox_entry_is_a_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(argv, {}, prog="t")


def test_real_time_expiry_from_a_flag_or_the_environment() -> None:
    assert parse([], {}, prog="t").real_time_expiry is False
    assert parse(["--real-time-expiry"], {}, prog="t").real_time_expiry is True
    assert parse([], {"KESK_REAL_TIME_EXPIRY": "1"}, prog="t").real_time_expiry is True
