"""--shard I/N splits the catalogue deterministically into balanced parts; merge joins their results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.catalogue import catalogue
from conformance.checks.lifecycles import MACHINES
from conformance.cli import main as kesk_conformance
from conformance.shards import shard, units


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_the_parts_cover_the_catalogue_exactly_once(count: int) -> None:
    # When the whole catalogue is split into `count` parts, twice
    parts = [[item.id for item in shard(list(catalogue()), index, count)] for index in range(1, count + 1)]
    again = [[item.id for item in shard(list(catalogue()), index, count)] for index in range(1, count + 1)]

    # Then every requirement is in exactly one part, the split is the same each time, and each part keeps
    # the catalogue's order
    every = [rid for part in parts for rid in part]
    assert sorted(every) == sorted(item.id for item in catalogue())
    assert len(every) == len(set(every))
    assert parts == again
    order = [item.id for item in catalogue()]
    assert all(part == sorted(part, key=order.index) for part in parts)


def test_requirements_sharing_an_engine_stay_in_one_part() -> None:
    grouped = units(list(catalogue()))
    where = {item.id: index for index, unit in enumerate(grouped) for item in unit}
    for spec in MACHINES:
        assert len({where[rid] for rid in spec.owns}) == 1, spec.name
    engine = [item.id for item in catalogue() if item.observes or item.area == "schemathesis"]
    assert len({where[rid] for rid in engine}) == 1


def test_shards_merge_into_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a selection run as two shards, each against a server of its own, the second with a fault
    selection = ["--select", "AUTH-401-*", "--select", "BOLA-*", "--select", "FAVOURITE-*", "--select", "FCM-*"]
    common = ["--seed", "5", "--max-examples", "2", "--quiet", *selection]
    codes = [
        kesk_conformance(["run", "--shard", "1/2", "--report-dir", str(tmp_path / "1"), *common]),
        kesk_conformance(
            ["run", "--shard", "2/2", "--report-dir", str(tmp_path / "2"), "--fault", "bola_email_read", *common]
        ),
    ]
    capsys.readouterr()

    # When their results are merged
    merged = kesk_conformance(
        [
            "merge",
            str(tmp_path / "1" / "results.json"),
            str(tmp_path / "2" / "results.json"),
            "--report-dir",
            str(tmp_path / "m"),
        ]
    )

    # Then the merged results hold every selected requirement once, with each shard's verdicts
    shards = [json.loads((tmp_path / n / "results.json").read_text())["requirements"] for n in ("1", "2")]
    results = json.loads((tmp_path / "m" / "results.json").read_text())
    ids = [item["id"] for item in results["requirements"]]
    assert sorted(ids) == sorted(item["id"] for part in shards for item in part)
    assert len(ids) == len(set(ids)) == len(catalogue().select(["AUTH-401-*", "BOLA-*", "FAVOURITE-*", "FCM-*"]))
    verdicts = {item["id"]: item["outcome"] for item in results["requirements"]}
    bola_shard = 2 if "BOLA-EMAIL-READ" in {item["id"] for item in shards[1]} else 1
    assert verdicts["BOLA-EMAIL-READ"] == ("failed" if bola_shard == 2 else "passed")
    assert merged == max(codes)
    assert results["summary"]["requests"] == sum(
        json.loads((tmp_path / n / "results.json").read_text())["summary"]["requests"] for n in ("1", "2")
    )
    assert (tmp_path / "m" / "junit.xml").is_file() and (tmp_path / "m" / "report.html").is_file()
    # and the lifecycle machines' transition coverage of every shard
    machines = {
        name for n in ("1", "2") for name in json.loads((tmp_path / n / "results.json").read_text())["transitions"]
    }
    assert set(results["transitions"]) == machines >= {"favourites", "devices", "data-export"}


def test_results_of_different_seeds_do_not_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, seed in (("a", "1"), ("b", "2")):
        kesk_conformance(
            ["run", "--select", "AUTH-401-MISSING", "--seed", seed, "--quiet", "--report-dir", str(tmp_path / name)]
        )
    capsys.readouterr()
    code = kesk_conformance(["merge", str(tmp_path / "a" / "results.json"), str(tmp_path / "b" / "results.json")])
    assert code == 2
    assert "different seeds" in capsys.readouterr().err


def test_shards_with_known_and_not_applicable_verdicts_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a shard whose failure is a listed known failure, and one that leaves the FCM group out
    known = tmp_path / "known.toml"
    known.write_text('[[known]]\nrequirement = "BOLA-EMAIL-READ"\nreason = "fixed next sprint"\n', encoding="utf-8")
    common = ["--seed", "5", "--quiet", "--select", "BOLA-EMAIL-READ", "--select", "BOLA-FCM-UNREGISTER"]
    kesk_conformance(
        [
            "run",
            *common,
            "--report-dir",
            str(tmp_path / "1"),
            "--fault",
            "bola_email_read",
            "--known-failures",
            str(known),
        ]
    )
    kesk_conformance(["run", *common, "--report-dir", str(tmp_path / "2"), "--not-implemented", "fcm"])
    capsys.readouterr()

    # When they are merged
    code = kesk_conformance(
        ["merge", *(str(tmp_path / n / "results.json") for n in ("1", "2")), "--report-dir", str(tmp_path / "m")]
    )

    # Then each requirement keeps its worst verdict: the known failure stays known, FCM's verdict is its run's
    verdicts = {
        item["id"]: item["outcome"]
        for item in json.loads((tmp_path / "m" / "results.json").read_text())["requirements"]
    }
    assert verdicts == {"BOLA-EMAIL-READ": "known", "BOLA-FCM-UNREGISTER": "passed"}
    assert code == 0
