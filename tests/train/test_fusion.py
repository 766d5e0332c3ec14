"""Multi-layer fusion (train/fusion.py, train/input_arrays.py): learned softmax layer weights before the back-end, and the
loader reading a batch's N layers into one (B, N, T, D) buffer."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from torch import nn

from codecfake.store import FeatureStore
from codecfake.store.testing import synthetic_spec
from codecfake.train.backends import build_backend
from codecfake.train.checkpoint import load_checkpoint
from codecfake.train.config import ConfigError, TrainConfig, parse_text
from codecfake.train.data import TrainDataError, fetch, load_into_memory, load_training_data
from codecfake.train.errors import TrainError
from codecfake.train.fusion import FusedBackend, LayerFusion, fusion_weights
from codecfake.train.input_arrays import StackedReader
from codecfake.train.loop import train
from codecfake.train.rundir import RunWriter

FRAME = (6, 4)


def layered_set(
    root,
    corpus: str,
    domain: str,
    layers=(0, 1, 2),
    *,
    n=24,
    informative=1,
    seed=0,
    shard_size=8,
    rejects: dict[int, tuple[int, ...]] | None = None,
) -> str:
    """A set with arrays L<k> (k in `layers`), train/dev/test thirds; only layer `informative` carries the label."""
    rng = np.random.default_rng(seed)
    split = np.array((["train", "dev", "test"] * n)[:n])
    label = np.tile([0, 1], n)[:n].astype(np.int64)
    meta = {
        "utt_id": np.array([f"{corpus}_{i:03d}" for i in range(n)]),
        "label": label,
        "domain": np.array([domain] * n),
        "condition": np.where(split == "test", "C1", split),
        "split": split,
    }
    fs = FeatureStore(root).create(
        synthetic_spec(corpus, seed=seed, extractor="xlsr"), meta, shard_size=shard_size
    )
    for k in layers:
        name = f"L{k:02d}"
        fs.ensure_array(name, FRAME)
        x = rng.normal(size=(n, *FRAME)).astype(np.float32) + (
            1.5 * label[:, None, None] if k == informative else 0
        )
        for s in range(fs.n_shards):
            lo, hi = fs.shard_bounds(s)
            rej = [(i - lo, "corrupt audio") for i in (rejects or {}).get(k, ()) if lo <= i < hi]
            fs.write_shard(name, s, x[lo:hi], rejects=rej)
    return fs.key


class MeanHead(nn.Module):
    """(B, T, D) -> mean over T -> Linear(2): a back-end with nothing random in its forward."""

    def __init__(self, frame_shape):
        super().__init__()
        self.head = nn.Linear(frame_shape[1], 2)

    def forward(self, x):
        emb = x.mean(dim=1)
        return emb, self.head(emb)


# ---- the fusion module ----------------------------------------------------------------------------------------
def test_fusion_weights_get_gradients_and_learn_the_informative_layer() -> None:
    torch.manual_seed(0)
    y = torch.randint(0, 2, (256,))
    x = torch.randn(256, 3, *FRAME)
    x[:, 2] += 2.0 * y[:, None, None]  # only layer 2 tells bona fide from spoof; layers 0 and 1 are noise
    model = FusedBackend(3, MeanHead(FRAME))
    loss = nn.functional.cross_entropy(model(x[:32])[1], y[:32])
    loss.backward()
    grad = model.fusion.weights.grad
    assert grad is not None and grad.abs().sum() > 0  # the layer weights are trained, not constants
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(60):
        b = slice(32 * (step % 8), 32 * (step % 8 + 1))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[b])[1], y[b]).backward()
        opt.step()
    w = fusion_weights(model, "L00+L01+L02")
    assert list(w) == ["L00", "L01", "L02"] and sum(w.values()) == pytest.approx(1.0)
    assert w["L02"] > 0.5 > max(w["L00"], w["L01"])  # the weight moved to the layer that carries the label


def test_fusion_starts_with_equal_weights_and_is_a_weighted_sum() -> None:
    fusion = LayerFusion(3)
    x = torch.randn(2, 3, *FRAME)
    assert fusion.softmax_weights() == pytest.approx([1 / 3] * 3)
    with torch.no_grad():
        fusion.weights.copy_(torch.tensor([0.0, 1.0, 2.0]))
    w = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
    torch.testing.assert_close(fusion(x), w[0] * x[:, 0] + w[1] * x[:, 1] + w[2] * x[:, 2])
    with pytest.raises(ValueError, match="takes"):
        fusion(torch.randn(2, 2, *FRAME))  # two layers into a three-layer fusion


@pytest.mark.parametrize("name,frame", [("aasist", (12, 16)), ("lcnn", (16, 16))])
def test_single_layer_fusion_equals_the_plain_backend(name: str, frame: tuple[int, int]) -> None:
    torch.manual_seed(0)
    plain = build_backend(name, frame)
    fused = FusedBackend(1, copy.deepcopy(plain))  # same back-end weights
    x = torch.randn(4, *frame)
    plain.eval(), fused.eval()
    with torch.no_grad():
        for a, b in zip(plain(x), fused(x[:, None]), strict=True):
            assert torch.equal(a, b)  # bit for bit: softmax of one weight is exactly 1
    plain.train(), fused.train()  # training mode too: same dropout masks from the same seed, same gradients
    torch.manual_seed(1)
    plain(x)[1].sum().backward()
    torch.manual_seed(1)
    fused(x[:, None])[1].sum().backward()
    for (k, p), q in zip(plain.named_parameters(), fused.backend.parameters(), strict=True):
        assert (p.grad is None and q.grad is None) or torch.equal(p.grad, q.grad), k


# ---- configuration --------------------------------------------------------------------------------------------
def test_layers_set_the_fused_array_and_must_agree_with_array() -> None:
    c = TrainConfig(layers=(5, 0, 3))
    assert c.layers == (0, 3, 5) and c.array == "L00+L03+L05"
    assert TrainConfig(layers=(5,)).array == "L05"  # one layer is the plain run on L05
    with pytest.raises(ConfigError, match="give one of"):
        TrainConfig(layers=(0, 3), array="L05")
    with pytest.raises(ConfigError, match="distinct"):
        TrainConfig(layers=(3, 3))
    with pytest.raises(ConfigError, match="not SSL layers"):
        TrainConfig(array="mel+L05")
    assert parse_text("layers", "0,3,5") == (0, 3, 5)
    with pytest.raises(ConfigError, match="cannot read"):
        parse_text("layers", "0,x")
    assert TrainConfig.from_dict(TrainConfig(layers=(0, 3)).to_dict()) == TrainConfig(layers=(0, 3))


def test_a_fused_array_name_gives_its_layers() -> None:
    c = TrainConfig(array="L00+L03")
    assert c.layers == (0, 3) and c.array == "L00+L03"
    with pytest.raises(ConfigError, match="give one of"):  # unsorted names are not the canonical name
        TrainConfig(array="L03+L00")


def test_a_run_saved_before_layers_existed_still_resumes(tmp_path) -> None:
    run = tmp_path / "old"
    run.mkdir()
    saved = TrainConfig(name="old").to_dict()
    del saved["layers"]  # config.json written before the field existed
    (run / "config.json").write_text(json.dumps(saved))
    with RunWriter.claim(run) as writer:
        assert writer.prepare(TrainConfig(name="old")) == "resume"
        with pytest.raises(TrainError, match="differs in \\['array', 'layers'\\]"):
            writer.prepare(TrainConfig(name="old", layers=(0, 3)))


# ---- the loader -------------------------------------------------------------------------------------------------
def test_fused_batch_equals_the_individually_read_arrays(tmp_path) -> None:
    root = tmp_path / "features"
    keys = [
        layered_set(root, "a", "codec", seed=1, rejects={2: (3,)}),  # clip 3 rejected in L02 only
        layered_set(root, "b", "vocoder", seed=2, n=18),
    ]
    store = FeatureStore(root)
    data = load_training_data(store, TrainConfig(features=tuple(keys), layers=(0, 1, 2)))
    assert data.array == "L00+L01+L02" and data.input_shape == (3, *FRAME)
    sets = [store.open(k) for k in keys]
    assert 3 not in data.train.local[data.train.set_index == 0]  # invalid in one layer: not trained on
    positions = np.random.default_rng(0).permutation(len(data.train))[:7]  # clips of both sets, shuffled
    readers = data.readers()
    assert all(isinstance(r, StackedReader) for r in readers)
    x, y, _ = fetch(data, data.train, positions, readers)
    assert x.dtype == torch.float16 and tuple(x.shape) == (7, 3, *FRAME)
    for row, p in enumerate(positions):
        fs = sets[data.train.set_index[p]]
        local = data.train.local[p]
        want = np.stack(
            [fs.reader(a).batch([local])[0] for a in ("L00", "L01", "L02")]
        )  # one array at a time
        np.testing.assert_array_equal(x[row].numpy(), want)
        assert y[row] == fs.meta["label"][local]
    load_into_memory(data, data.train)  # in memory: the same batch
    np.testing.assert_array_equal(fetch(data, data.train, positions, [])[0].numpy(), x.numpy())


def test_a_missing_layer_is_refused_with_the_fix(tmp_path) -> None:
    root = tmp_path / "features"
    key = layered_set(root, "a", "codec", layers=(0, 1))
    with pytest.raises(TrainDataError, match="no array 'L03'.*LAYERS"):
        load_training_data(FeatureStore(root), TrainConfig(task="codec", features=(key,), layers=(0, 3)))


# ---- training ---------------------------------------------------------------------------------------------------
def _builder(name, frame_shape):
    torch.manual_seed(0)
    return MeanHead(frame_shape)


class Crash(Exception):
    pass


class _CrashAt:
    """A progress reporter that raises after `step` steps of epoch 2 (a kill mid-epoch)."""

    def __init__(self, step: int):
        self.step, self.epoch, self.done = step, "", 0

    def start(self, desc, total, unit, done=0):
        self.epoch, self.done = desc, done

    def advance(self, n=1, **status):
        self.done += n
        if self.epoch.startswith("epoch 2/") and self.done == self.step:
            raise Crash

    def close(self):
        pass


def test_fused_run_logs_weights_resumes_and_loads(tmp_path) -> None:
    from codecfake.train.rundir import load_run, read_metrics

    root = tmp_path / "features"
    key = layered_set(root, "a", "codec", n=48)
    cfg = TrainConfig(
        name="fused",
        task="codec",
        backend="toy",
        features=(key,),
        layers=(0, 1, 2),
        epochs=2,
        batch=4,
        lr=0.05,
        device="cpu",
        threads=1,
        data_mode="stream",
        save_every_steps=2,
    )
    with pytest.raises(Crash):  # killed in epoch 2 after its step-2 checkpoint
        train(cfg, FeatureStore(root), tmp_path / "runs", builder=_builder, progress=_CrashAt(3))
    run_dir = train(cfg, FeatureStore(root), tmp_path / "runs", builder=_builder)  # the same command resumes
    whole = train(cfg.replace(name="whole"), FeatureStore(root), tmp_path / "runs", builder=_builder)
    a, _ = load_checkpoint(run_dir / "checkpoints" / "last")
    b, _ = load_checkpoint(whole / "checkpoints" / "last")
    assert torch.equal(a["model.fusion.weights"], b["model.fusion.weights"])  # resumed == uninterrupted
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model."))
    rows = read_metrics(run_dir)
    assert [list(r["fusion_weights"]) for r in rows] == [["L00", "L01", "L02"]] * 2
    assert rows[0]["fusion_weights"] != rows[1]["fusion_weights"]  # each epoch logs the weights it ended with
    prov = json.loads((run_dir / "provenance.json").read_text())
    conf = json.loads((run_dir / "config.json").read_text())
    assert prov["array"] == conf["array"] == "L00+L01+L02" and prov["arrays"] == ["L00", "L01", "L02"]
    assert conf["layers"] == [0, 1, 2]
    run = load_run(run_dir, builder=_builder)  # the best checkpoint, wrapped in its fusion again
    assert isinstance(run.model, FusedBackend)
    assert fusion_weights(run.model, run.array) == pytest.approx(
        rows[run.best["epoch"] - 1]["fusion_weights"]
    )


def test_a_one_layer_run_is_the_plain_run(tmp_path) -> None:
    root = tmp_path / "features"
    key = layered_set(root, "a", "codec", n=36)
    base = dict(task="codec", backend="toy", features=(key,), epochs=1, batch=4, device="cpu", threads=1)
    plain = train(
        TrainConfig(name="plain", array="L01", **base),
        FeatureStore(root),
        tmp_path / "runs",
        builder=_builder,
    )
    one = train(
        TrainConfig(name="one", layers=(1,), **base), FeatureStore(root), tmp_path / "runs", builder=_builder
    )
    a, _ = load_checkpoint(plain / "checkpoints" / "last")
    b, _ = load_checkpoint(one / "checkpoints" / "last")
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)  # no fusion module, same steps
    assert "fusion_weights" not in (one / "metrics.jsonl").read_text()
