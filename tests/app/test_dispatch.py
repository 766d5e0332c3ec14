"""codecfake.app.dispatch: commands run in this process, the commands they need run first, failures named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.app.dispatch import CommandFailed, parse, run, run_checked, run_parsed
from codecfake.corpus.build.mini_codecfake import MARKER, DemoParams


def _finished_demo_corpus(folder: Path, size: str = "small") -> Path:
    """A folder the corpus stage takes for a finished demo corpus of ``size`` (its completion marker)."""
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(json.dumps({"params": DemoParams(size=size).as_json()}))
    return folder


def test_features_on_the_demo_corpus_needs_the_corpus_command_first(tmp_path: Path) -> None:
    args = parse(["features", "--data", "demo", "--demo-dir", str(tmp_path / "d"), "--size", "small"])
    assert args.prerequisites(args) == [["corpus", "demo", "--out", str(tmp_path / "d"), "--size", "small"]]
    other = parse(["features", "--data", "codecfake", "--root", str(tmp_path)])
    assert other.prerequisites(other) == []


def test_the_command_runs_after_what_it_needs(tmp_path: Path) -> None:
    demo = _finished_demo_corpus(tmp_path / "demo")
    args = parse(["features", "--data", "demo", "--demo-dir", str(demo), "--size", "small"])
    ran = []
    needs = args.prerequisites
    args.prerequisites = lambda a: ran.append("needs") or needs(a)
    args.func = lambda a: ran.append("features") or 0
    assert run_parsed(args) == 0 and ran == ["needs", "features"]


def test_a_failing_prerequisite_stops_the_command_and_names_itself(tmp_path: Path) -> None:
    args = parse(["features", "--data", "codecfake", "--root", str(tmp_path)])
    args.prerequisites = lambda a: [["corpus"]]  # `codecfake corpus` alone prints its help and exits 2
    args.func = lambda a: pytest.fail("the command ran although what it needs failed")
    with pytest.raises(
        CommandFailed, match=r"`codecfake corpus` \(needed before `codecfake features`\) failed "
    ):
        run_parsed(args)


def test_run_returns_the_exit_status_and_run_checked_raises_on_a_failure(capsys) -> None:
    assert run(["corpus"]) == 2
    with pytest.raises(
        CommandFailed, match=r"`codecfake corpus` \(demo stage 'x'\) failed with exit status 2"
    ):
        run_checked(["corpus"], "demo stage 'x'")
    assert "usage: codecfake corpus" in capsys.readouterr().out


def test_a_corpus_of_another_size_is_refused_before_features_runs(tmp_path: Path) -> None:
    from codecfake.corpus import ManifestError

    demo = _finished_demo_corpus(tmp_path / "demo", size="small")
    with pytest.raises(ManifestError, match="--force"):  # typed errors reach the caller (main: exit 2)
        run(
            [
                "features",
                "--data",
                "demo",
                "--demo-dir",
                str(demo),
                "--size",
                "default",
                "--store",
                str(tmp_path / "features"),
            ]
        )
    assert not (tmp_path / "features").exists()
