"""From a trained run to published-era numbers: evaluate writes dev scores and the ASVspoof 5 metrics; calibrate
fits on dev; evaluate again keeps LLRs beside the fresh scores; two runs fuse into a run evaluate re-fits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from codecfake.app.cli import main
from codecfake.evaluate.score_tsv import HEADER_LLR, read_scores
from codecfake.evaluate.testing import make_run


def _evaluate(run: Path, store: Path) -> dict:
    args = ["evaluate", "--run", str(run), "--store", str(store), "--device", "cpu", "--no-figures"]
    assert main([*args, "--resamples", "20"]) == 0
    return json.loads((run / "report" / "report.json").read_text())


def test_evaluate_calibrate_fuse_evaluate(env, tmp_path: Path) -> None:
    from codecfake.store import FeatureStore

    store = FeatureStore(env.store_root)
    a = make_run(tmp_path / "runs" / "codec-aasist-adam-s1", store, env.keys["codec"], seed=1, torch_seed=1)
    b = make_run(tmp_path / "runs" / "codec-aasist-adam-s2", store, env.keys["codec"], seed=2, torch_seed=2)
    rep = _evaluate(a, env.store_root)
    assert (a / "dev_scores.tsv").is_file() and len(
        read_scores(a / "dev_scores.tsv")
    ) == 8  # the run's dev rows
    names = {c["name"] for c in rep["detection"]["conditions"]}
    assert names == {c["name"] for c in rep["conditions"]}
    assert (
        rep["detection"]["conditions"][0]["llr"].startswith("logit")
        and "ci" in rep["detection"]["conditions"][0]
    )
    assert "## ASVspoof 5 metrics" in (a / "report" / "report.md").read_text()
    assert main(["calibrate", str(a), "--resamples", "0"]) == 0
    rep = _evaluate(a, env.store_root)  # fresh scores, the stored map applied
    c1 = a / "scores" / "C1.tsv"
    assert c1.read_text().splitlines()[0].split("\t") == list(HEADER_LLR)
    assert rep["calibration"]["fitted_on"] == "dev_scores.tsv"
    assert {c["llr"] for c in rep["detection"]["conditions"]} == {"calibrated"}
    _evaluate(b, env.store_root)
    runs = tmp_path / "runs"
    assert main(["fuse", str(a), str(b), "--name", "ab", "--runs-dir", str(runs), "--resamples", "0"]) == 0
    before = (runs / "ab" / "scores" / "C1.tsv").read_text()
    shutil.rmtree(runs / "ab" / "report")
    rep = _evaluate(runs / "ab", env.store_root)  # re-fitted from the members' score files: same result
    assert (runs / "ab" / "scores" / "C1.tsv").read_text() == before
    assert rep["score_fusion"]["member_names"] == ["codec-aasist-adam-s1", "codec-aasist-adam-s2"]
    assert {c["llr"] for c in rep["detection"]["conditions"]} == {"calibrated"}
