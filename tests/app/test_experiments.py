"""The experiment matrix: its schema and shipped presets, the plan's runs and commands, the store check, running a
matrix (a failed run reported without stopping the others, finished runs reused), its progress lines and tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecfake.app.cli import main
from codecfake.app.dispatch import parse
from codecfake.app.experiments.board import Board
from codecfake.app.experiments.execute import RunResult, make_jobs, write_status
from codecfake.app.experiments.matrix_spec import MatrixError, load_matrix
from codecfake.app.experiments.needs import (
    MissingFeatureSets,
    StoreIndex,
    check_needs,
    generators_of,
    require_needs,
)
from codecfake.app.experiments.plan import HOLD_OUT_OPTION, plan_matrix
from codecfake.app.experiments.testing import write_matrix, write_matrix_store
from codecfake.train.cli_config import flags_given
from codecfake.train.config import resolve_config

LCNN_CODEC = 'row = "LCNN codec", task = "codec", backend = "lcnn", opt = "adam", extractor = "mel"'
LCNN_CSAM = 'task = "cotrain", backend = "lcnn", opt = "csam", extractor = "mel"'


def test_the_paper_matrices_hold_the_papers_cells_and_numbers() -> None:
    t8 = load_matrix("paper-table8")
    rows = {c.row: c for c in t8.cells}
    assert [(c.task, c.backend, c.opt, c.extractor) for c in t8.cells][:6] == [
        ("cotrain", "lcnn", "adam", "mel"),
        ("cotrain", "lcnn", "adam", "xlsr"),
        *(("cotrain", "aasist", o, "xlsr") for o in ("adam", "sam", "asam", "csam")),
    ]
    csam = rows["W2V2-AASIST (CSAM)"]
    assert (csam.paper["AVG"], csam.paper["CAVG"], csam.paper["ITW"], csam.array) == (
        0.616,
        0.077,
        4.689,
        "L05",
    )
    assert not rows["WavLM-AASIST"].paper and "not available" in rows["WavLM-AASIST"].note
    t3, t4 = load_matrix("paper-table3"), load_matrix("paper-table4")
    assert {c.task for c in t3.cells} == {"vocoder"} and {c.task for c in t4.cells} == {"codec"}
    assert t3.cells[2].paper["19LA"] == 0.122 and t4.cells[2].paper["CAVG"] == 0.177
    every = load_matrix("paper-all")
    assert [t.table for t in every.tables] == ["III", "IV", "VIII"] and len(every.cells) == 15
    plan = plan_matrix(every, store="s", runs="r", seeds=2)
    assert len(plan.runs) == 30 and [r.seed for r in plan.runs[:15]] == [688] * 15  # seed-major
    shared = {r.name for r in plan_matrix(t8, store="s", runs="r").runs}
    assert shared <= {r.name for r in plan.runs}  # table VIII's runs are paper-all's, reused by name
    assert (load_matrix("demo-default").seeds, len(load_matrix("demo-full").cells)) == (2, 15)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (("seeds = 1", "seeds = 1\nsede = 2"), r"\[matrix\] has unknown keys \['sede'\]"),
        (('opt = "adam"', 'opt = "adamw"'), r"opt = 'adamw': expected one of"),
        (('backend = "lcnn"', 'backend = "resnet"'), r"backend = 'resnet'"),
        (("epochs = 1", "epoch = 1"), r"unknown training config key 'epoch'"),
        (("epochs = 1", "seed = 3"), r"runner's \(name, seed\)"),
        (('extractor = "mel"', 'extractor = "mel", paper = { C9 = 1.0 }'), r"column 'C9'"),
        (('extractor = "mel"', 'extractor = "mel", paper = { C1 = 120 }'), r"between 0 and 100"),
        (('title = "tiny"', 'title = "tiny"\nname = "{task}-{oops}"'), r"fields are"),
        (('title = "tiny"', 'title = "tiny"\ninclude = ["m"]'), r"no cycle"),
    ],
)
def test_a_bad_matrix_names_the_file_and_the_key(tmp_path: Path, change: tuple[str, str], match: str) -> None:
    path = write_matrix(tmp_path / "m.toml", [LCNN_CODEC])
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(*change, 1))
    with pytest.raises(MatrixError, match=match) as err:
        load_matrix(str(path))
    assert str(path) in str(err.value) or "m.toml" in str(err.value)


def test_a_repeated_cell_and_a_name_given_twice_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match="repeats cell #1"):
        load_matrix(str(write_matrix(tmp_path / "a.toml", [LCNN_CODEC, LCNN_CODEC])))
    other = LCNN_CODEC.replace('"LCNN codec"', '"other"') + ", train = { rho = 0.1 }"
    twice = write_matrix(tmp_path / "b.toml", [LCNN_CODEC, other], extra='name = "x-{seed}"')
    with pytest.raises(MatrixError, match="run name 'x-688' is given to two different cells"):
        plan_matrix(load_matrix(str(twice)), store="s", runs="r")


def test_each_run_command_parses_back_to_the_options_in_precedence_order(tmp_path: Path) -> None:
    cell = LCNN_CODEC + ", train = { lr = 0.001 }"
    sam = 'task = "cotrain", backend = "lcnn", opt = "sam", extractor = "mel", tag = "sam"'
    path = write_matrix(tmp_path / "m.toml", [cell, sam], seeds=2)
    path.write_text(path.read_text().replace('preset = "none"', 'preset = "demo"'))
    plan = plan_matrix(
        load_matrix(str(path)), store="st", runs=tmp_path / "runs", device="cpu", overrides={"batch": 4}
    )
    assert [r.name for r in plan.runs] == [
        "codec-lcnn-adam-s688-mel-o" + plan.runs[0].name.rsplit("-o", 1)[1],  # its own lr: a digest tag
        "cotrain-lcnn-sam-s688-mel-sam",
        plan.runs[0].name.replace("s688", "s689"),
        "cotrain-lcnn-sam-s689-mel-sam",
    ]
    for run in plan.runs:
        args = parse(run.train_argv)
        config = resolve_config(flags_given(args))
        assert (config.task, config.opt, config.seed, config.name, args.preset) == (
            run.cell.task,
            run.cell.opt,
            run.seed,
            run.name,
            "demo",
        )
        # demo preset (epochs 10, lr 5e-4, lcnn SAM radius 0.01) < the file's train (epochs 1) < the cell's < overrides
        assert (config.epochs, config.batch, config.threads) == (1, 4, 1)
        assert config.lr == (0.001 if run.cell.opt == "adam" else 5e-4)
        assert config.rho == (0.01 if run.cell.opt == "sam" else 0.05)
        assert parse(run.evaluate_argv).run == tmp_path / "runs" / run.name


def test_the_store_check_names_every_missing_set_with_the_command_that_makes_it(tmp_path: Path) -> None:
    m = load_matrix(str(write_matrix(tmp_path / "m.toml", [LCNN_CODEC])))
    empty = check_needs(plan_matrix(m, store=tmp_path / "none", runs=tmp_path / "runs"))
    assert [(x.what, x.command) for x in empty.missing] == [
        ("mel training sets of the codec domain", f"make features STORE={tmp_path / 'none'}")
    ]
    store = tmp_path / "features"
    write_matrix_store(store)
    assert require_needs(plan_matrix(m, store=store, runs=tmp_path / "runs")).ok
    t3 = plan_matrix(load_matrix("paper-table3"), store=store, runs=tmp_path / "runs")
    with pytest.raises(MissingFeatureSets, match="nothing was trained") as err:
        require_needs(t3)
    text = str(err.value)
    # mel: trained on mini-19la (vocoder), scored on its 19LA and C1, C2: the other columns are missing
    assert f"DATA=codecfake ROOT=/path/to/Codecfake MODEL=mel PARTS=C3,C4,C5,C6,C7 STORE={store}" in text
    assert "DATA=itw ROOT=/path/to/release_in_the_wild MODEL=mel" in text
    assert (
        "DATA=asvspoof2019 ROOT=/path/to/LA MODEL=xlsr MODEL_DIR=/path/to/xls-r-300m LAYERS=5 PARTS=train,dev"
        in text
    )
    assert "MODEL=wavlm MODEL_DIR=/path/to/wavlm-large" in text


def test_leave_one_out_plans_one_run_per_training_generator(tmp_path: Path) -> None:
    store = tmp_path / "features"
    write_matrix_store(store)
    index = StoreIndex(store)
    m = load_matrix(str(write_matrix(tmp_path / "m.toml", [LCNN_CODEC, LCNN_CSAM], extra='protocol = "loo"')))
    assert generators_of(index)(m.cells[0]) == ["C1", "C2"]
    assert generators_of(index)(m.cells[1]) == ["C1", "C2", "A01", "A02"]
    plan = plan_matrix(m, store=store, runs=tmp_path / "r", generators=generators_of(index))
    assert [r.name for r in plan.runs][:2] == [
        "codec-lcnn-adam-s688-mel-ho-C1",
        "codec-lcnn-adam-s688-mel-ho-C2",
    ]
    assert len(plan.runs) == 6 and all(r.options[HOLD_OUT_OPTION] == r.held_out for r in plan.runs)
    assert parse(plan.runs[0].train_argv).cfg_hold_out == ("C1",)  # codecfake train --hold-out C1


def test_a_matrix_runs_reports_a_failed_run_without_stopping_and_reuses_finished_runs(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    write_matrix_store(Path("features"))
    broken = 'task = "cotrain", backend = "lcnn", opt = "csam-pd", extractor = "mel", train = { batch = 2 }'
    paper = LCNN_CODEC + ", paper = { C1 = 1.0, AVG = 2.0 }"
    write_matrix(Path("m.toml"), [broken, paper])
    argv = ["experiments", "m.toml", "--device", "cpu", "--resamples", "20"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    bad, good = "cotrain-lcnn-csam-pd-s688-mel-o", "codec-lcnn-adam-s688-mel"
    assert f"[run 2/2] {good}: done, AVG " in out
    failed = next(line for line in out.splitlines() if line.startswith("  FAILED"))
    assert bad in failed and "cannot draw batches" in failed
    log_file = next(Path("experiments/m/logs").glob("cotrain-*.log"))
    assert "cannot draw batches" in log_file.read_text() and str(log_file) in out
    doc = json.loads(Path("experiments/m/results.json").read_text())
    row = next(r for r in doc["tables"][0]["rows"] if r["row"] == "LCNN codec")
    c1 = row["columns"]["C1"]
    assert c1["n"] == 1 and c1["paper"] == 1.0 and c1["diff"] == pytest.approx(c1["mean"] - 1.0)
    md = Path("experiments/m/results.md").read_text()
    assert "| LCNN codec (paper) | – | 1.000 |" in md and "| LCNN codec (Δ) |" in md
    assert "codecfake train --task codec --backend lcnn" in md
    stamp = (Path("runs") / good / "DONE").stat().st_mtime_ns
    assert main(argv) == 1  # the finished run is reused, the broken one fails again
    again = capsys.readouterr().out
    assert "1 already" in again and (Path("runs") / good / "DONE").stat().st_mtime_ns == stamp
    assert main([*argv, "--report"]) == 0 and "| LCNN codec (ours, 1 seed) |" in capsys.readouterr().out


def test_the_board_prints_a_line_per_run_state_and_the_matrix_eta(tmp_path: Path) -> None:
    from codecfake.app.experiments.plan import Plan

    m = load_matrix(str(write_matrix(tmp_path / "m.toml", [LCNN_CODEC, LCNN_CSAM])))
    plan: Plan = plan_matrix(m, store="s", runs=tmp_path / "runs")
    jobs = make_jobs(plan.runs, tmp_path / "out")
    lines: list[str] = []
    board = Board(jobs, workers=2, emit=lines.append, matrix="m")
    board.summary_every_s = (
        0.0  # the matrix line after every change (by default: when counts change, or a minute on)
    )
    board.queued(reused=1)
    assert lines[:2] == [f"[run 1/2] {jobs[0].name}: queued", f"[run 2/2] {jobs[1].name}: queued"]
    assert lines[2] == "matrix m: 1/3 done (1 already), 0 running, 2 queued, 0 failed"
    write_status(jobs[0].status_file, state="running", worker="1")
    run_dir = Path(jobs[0].run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"epochs": 3}))
    board.poll()
    assert lines[-2] == f"[run 1/2] {jobs[0].name}: running on worker 1, epoch 1/3"
    (run_dir / "metrics.jsonl").write_text("{}\n")
    board.poll()
    assert lines[-2].startswith(f"[run 1/2] {jobs[0].name}: running on worker 1, epoch 2/3, ETA ")
    assert "1 running, 1 queued" in lines[-1] and "ETA" in lines[-1]
    board.finished(RunResult(jobs[0].name, "done", seconds=120.0, trained=True, headline={"AVG": 1.5}))
    board.finished(RunResult(jobs[1].name, "failed", "TrainError: boom", log_file="x.log"))
    assert lines[-4] == f"[run 1/2] {jobs[0].name}: done, AVG 1.500 %, 2 min"
    assert lines[-2] == f"[run 2/2] {jobs[1].name}: FAILED: TrainError: boom (log: x.log)"
    assert lines[-1] == "matrix m: 2/3 done (1 already), 0 running, 0 queued, 1 failed"


def test_runs_that_draw_the_same_batches_share_reads_and_end_as_if_trained_apart(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    from safetensors.torch import load_file

    from codecfake.app.experiments.execute import make_jobs
    from codecfake.app.experiments.groups import GroupJob, make_units

    monkeypatch.chdir(tmp_path)
    write_matrix_store(Path("features"))
    cells = [
        f'task = "cotrain", backend = "lcnn", opt = "{o}", extractor = "mel"' for o in ("adam", "sam", "csam")
    ]
    write_matrix(Path("m.toml"), cells)
    plan = plan_matrix(load_matrix("m.toml"), store="features", runs="runs")
    units = make_units(plan.runs, make_jobs(plan.runs, Path("x")), "auto", workers=1)
    assert [type(u).__name__ for u in units] == ["GroupJob", "Job"]  # csam draws other (stratified) batches
    assert isinstance(units[0], GroupJob) and [j.name for j in units[0].members] == [
        r.name for r in plan.runs[:2]
    ]
    assert (
        len(make_units(plan.runs, make_jobs(plan.runs, Path("x")), "auto", workers=3)) == 3
    )  # no idle worker
    argv = ["experiments", "m.toml", "--device", "cpu", "--resamples", "0", "--no-figures", "--threads", "1"]
    assert main([*argv, "--runs", "apart", "--out", "e-apart", "--share-reads", "off"]) == 0
    assert main([*argv, "--runs", "shared", "--out", "e-shared"]) == 0
    assert (
        "shared reads: cotrain-lcnn-adam-s688-mel, cotrain-lcnn-sam-s688-mel train together"
        in Path("e-shared/logs/cotrain-lcnn-sam-s688-mel.log").read_text()
    )
    for run in plan.runs:
        a = load_file(f"apart/{run.name}/checkpoints/best.safetensors")
        b = load_file(f"shared/{run.name}/checkpoints/best.safetensors")
        assert all((a[k] == b[k]).all() for k in a), run.name
        for tsv in Path(f"apart/{run.name}/scores").glob("*.tsv"):
            assert tsv.read_bytes() == Path(f"shared/{run.name}/scores/{tsv.name}").read_bytes()


def test_the_command_lists_the_matrices_and_stops_before_training_when_sets_are_missing(
    tmp_path: Path, capsys, caplog
) -> None:
    assert main(["experiments"]) == 2
    assert "paper-table8" in capsys.readouterr().out
    matrix = write_matrix(tmp_path / "m.toml", [LCNN_CODEC])
    argv = ["experiments", str(matrix), "--store", str(tmp_path / "empty"), "--runs", str(tmp_path / "runs")]
    assert main(argv) == 2  # a typed error: one line naming every missing set and its command
    assert (
        "lacks feature sets its runs need; nothing was trained" in caplog.text
        and "make features" in caplog.text
    )
    assert not (tmp_path / "runs").exists()
