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
