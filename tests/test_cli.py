"""The command line: dispatch, usage errors and the spec outline."""

from __future__ import annotations

import pytest

from conformance.cli import main


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # When
    code = main([])
    # Then
    assert code == 2
    assert "usage: kesk-conformance COMMAND" in capsys.readouterr().out


def test_unknown_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frobnicate"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "unknown command 'frobnicate'" in err


def test_spec_outline_lists_all_30_operations(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["spec"])
    out = capsys.readouterr().out
    assert code == 0
    assert "30 operations" in out
    for operation_id in ("addUserEmail", "downloadExport", "appSubmitNfcVerification", "getMyProfile"):
        assert operation_id in out


def test_spec_rejects_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "extra"]) == 2
    assert "takes no arguments" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--frobnicate"],
        ["list", "--select"],
        ["merge"],
        ["serve", "--no-such-flag"],
        ["faults", "--no-such-flag"],
        ["variants", "--no-such-flag"],
        ["new-user", "--no-such-flag"],
        ["spec", "--no-such-flag"],
    ],
)
def test_a_usage_mistake_in_any_subcommand_is_one_line_and_a_pointer_to_help(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # When a subcommand gets a flag it does not know (or misses an argument)
    code = main(argv)
    # Then it says so in one line that points to its --help, not argparse's whole usage block
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"kesk-conformance {argv[0]}: ")
    assert f"see `kesk-conformance {argv[0]} --help`" in captured.err
    assert "usage:" not in captured.err + captured.out


def test_help_still_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--help"]) == 0
    assert "usage: kesk-conformance list" in capsys.readouterr().out
