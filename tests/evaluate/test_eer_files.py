"""`codecfake eer FILE...`: the release's score files give the EERs their README states; ours and theirs mix."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from codecfake.app.cli import main
from codecfake.evaluate.eer_files import condition_from_name, eer_files
from codecfake.evaluate.errors import ScoreFileError
from codecfake.evaluate.score_tsv import Scores, write_scores

REPO = Path(__file__).resolve().parents[2]
SCORES = Path(os.environ.get("CODECFAKE_REFERENCE", REPO.parent / "shared" / "reference")) / "scores"
# the released score files' EERs as their README lists them: file -> (EER(s) %, EER(-s) %)
README_EERS = {
    "cotrain_w2v2aasist_csam.C1.txt": ("C1", 0.0076, 99.9924),
    "codec_mellcnn.C2.txt": ("C2", 9.563, 90.437),
    "vocoder_mellcnn.C5.txt": ("C5", 53.0088, 46.9912),
}


def test_condition_from_the_release_file_names() -> None:
    names = [
        "C1_result.txt",
        "C3-1_result.txt",
        "C3_1_result.txt",
        "L1_result.txt",
        "L3_result.txt",
        "19LA_result.txt",
        "19LA.txt",
        "ITW_result.txt",
        "codec_mellcnn.C2.txt",
        "A2_result.txt",  # generate_score.py at HEAD writes A1..A3; the released files say L1..L3
    ]
    assert [condition_from_name(n) for n in names] == [
        "C1",
        "C3-1",
        "C3-1",
        "A1",
        "A3",
        "19LA",
        "19LA",
        "ITW",
        "C2",
        "A2",
    ]


@pytest.mark.skipif(
    not SCORES.is_dir(),
    reason=f"released score files not found at {SCORES} (set CODECFAKE_REFERENCE "
    "to the folder holding scores/ from the shared reference)",
)
@pytest.mark.parametrize("paper", [False, True])
def test_released_score_files_print_their_readme_eers(capsys, paper: bool) -> None:
    files = [str(SCORES / f) for f in README_EERS]
    assert main(["eer", *files, *(["--paper"] if paper else [])]) == 0
    out = capsys.readouterr().out
    for f, (cond, eer, flipped) in README_EERS.items():
        (row,) = [ln for ln in out.splitlines() if ln.startswith(f"| {cond} |") and f in ln]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[3]) == pytest.approx(eer, abs=5e-4) and float(cells[4]) == pytest.approx(
            flipped, abs=5e-4
        )
        assert float(re.sub(r"[^\d.]", "", cells[5])) == pytest.approx(
            min(eer, flipped) if paper else eer, abs=5e-4
        )
    paper_row = out.split("| C1 | C2 | C5 | CAVG | AVG |")[1].splitlines()[2]
    assert paper_row == (
        "| 0.008 | 9.563 | 46.991 | 18.854* | 18.854* |"
        if paper
        else "| 0.008 | 9.563 | 53.009 | 20.860* | 20.860* |"
    )


def _release_file(path: Path, rng: np.random.Generator, n: int = 40, shift: float = 2.0) -> Path:
    s = np.concatenate([rng.normal(shift, 1, n), rng.normal(0, 1, n)])
    lab = ["real"] * n + ["fake"] * n
    path.write_text("".join(f"F_{i}.wav {v} {y}\n" for i, (v, y) in enumerate(zip(s, lab, strict=True))))
    return path


def test_ours_and_the_release_format_together_with_variants_and_averages(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    rel = [_release_file(tmp_path / f"{c}_result.txt", rng) for c in ("C1", "C3-1", "L1")]
    y = np.array([0] * 30 + [1] * 30)
    ours = write_scores(
        tmp_path / "scores.tsv",
        Scores(
            np.array([f"u{i}" for i in range(60)]),
            np.where(y == 0, 0.9, 0.1) + rng.normal(0, 0.3, 60),
            y,
            np.array(["C2"] * 60),
        ),
    )
    res = eer_files([*rel, ours])
    assert [r.result.name for r in res] == ["C1", "C2", "C3-1", "A1"]
    assert [r.fmt for r in res] == ["release", "ours", "release", "release"]
    assert main(["eer", *map(str, rel), str(ours)]) == 0
    out = capsys.readouterr().out
    header = [ln for ln in out.splitlines() if ln.startswith("| C1 | C2 |")][0]
    assert header == "| C1 | C2 | C3-1 | A1 | CAVG | AVG |"
    vals = {r.result.name: r.result.eer for r in res}
    cavg = out.split(header)[1].splitlines()[2].split("|")[-3].strip()
    assert (
        cavg == f"{np.mean([vals['C1'], vals['C2']]):.3f}*"
    )  # CAVG over C1, C2 only: variants and A1 stay out


def test_bad_inputs_are_typed_errors(tmp_path: Path) -> None:
    (tmp_path / "C3_1_result.txt").write_text("")
    with pytest.raises(ScoreFileError, match="empty score file"):
        eer_files([tmp_path / "C3_1_result.txt"])
    rng = np.random.default_rng(1)
    a = _release_file(tmp_path / "C1_result.txt", rng)
    b = _release_file(tmp_path / "x.C1.txt", rng)
    with pytest.raises(ScoreFileError, match="condition C1 was already read"):
        eer_files([a, b])
    with pytest.raises(ScoreFileError, match="not found"):
        eer_files([tmp_path / "nope.txt"])


def test_release_19la_file_with_asv_scores_gives_the_min_tdcf(tmp_path: Path, capsys) -> None:
    from codecfake.evaluate.tdcf import AsvScores, min_tdcf, read_asv_scores

    rng = np.random.default_rng(2)
    la = tmp_path / "19LA_result.txt"
    bona, spoof = rng.normal(2, 1, 30), rng.normal(0, 1, 50)
    la.write_text(
        "".join(
            f"LA_E_{i} {v} {'bonafide' if i < 30 else 'spoof'}\n"
            for i, v in enumerate(np.concatenate([bona, spoof]))
        )
    )
    asv = AsvScores(rng.normal(2, 1, 40), rng.normal(-2, 1, 40), rng.normal(0, 1.5, 40))
    f = tmp_path / "asv.txt"
    f.write_text(
        "".join(
            f"bonafide {k} {v}\n"
            for k, vs in (("target", asv.target), ("nontarget", asv.nontarget))
            for v in vs
        )
        + "".join(f"A07 spoof {v}\n" for v in asv.spoof)
    )
    assert main(["eer", str(la), "--asv-scores", str(f)]) == 0
    want = min_tdcf(bona, spoof, read_asv_scores(f))
    assert f"19LA min t-DCF = {want.min_tdcf:.5f}" in capsys.readouterr().out
