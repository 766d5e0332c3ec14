"""Back-ends: exact parameter counts, shapes, eval determinism, gradients, typed shape errors."""

from __future__ import annotations

import pytest
import torch

from codecfake.errors import CodecfakeError
from codecfake.train.backends import (
    BackendError,
    BackendInputShapeError,
    UnknownBackend,
    build_backend,
    count_parameters,
)

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("name", "shape", "kw", "n_params"),
    [
        ("aasist", (201, 1024), {}, 447_242),  # the paper's W2V2-AASIST
        ("lcnn", (505, 80), {}, 972_514),  # the paper's Mel-LCNN
        ("lcnn", (201, 1024), {}, 4_111_074),  # W2V2-LCNN, F = 24,576
        ("lcnn", (201, 1024), {"freq_major": True}, 4_111_074),  # the release's (1024, 201) layout, same F
        ("aasist", (505, 80), {}, 447_242 - (1024 - 80) * 128),  # only the projection depends on D
    ],
)
def test_parameter_counts(name: str, shape: tuple[int, int], kw: dict, n_params: int) -> None:
    assert count_parameters(build_backend(name, shape, **kw)) == n_params


def test_aasist_node_counts_follow_shapes() -> None:
    model = build_backend("aasist", (201, 1024))
    assert (model.n_spectral, model.n_temporal) == (42, 67)
    assert tuple(model.pos_spectral.shape) == (1, 42, 64)
    small = build_backend("aasist", (30, 16), proj_dim=30)
    assert (small.n_spectral, small.n_temporal) == (10, 10)
    assert tuple(small.pos_spectral.shape) == (1, 10, 64)


def test_lcnn_flat_dim_from_shape() -> None:
    assert build_backend("lcnn", (505, 80)).flat_dim == 4960  # 32 x 31 x 5
    assert build_backend("lcnn", (201, 1024)).flat_dim == 24576  # 32 x 12 x 64
    assert build_backend("lcnn", (40, 33)).flat_dim == 32 * 2 * 2


@pytest.mark.parametrize(
    ("name", "shape", "emb_dim"),
    [
        ("aasist", (201, 1024), 160),
        ("aasist", (505, 80), 160),
        ("aasist", (3, 8), 160),
        ("lcnn", (505, 80), 256),
    ],
)
def test_forward_shapes_and_eval_determinism(name: str, shape: tuple[int, int], emb_dim: int) -> None:
    torch.manual_seed(0)
    model = build_backend(name, shape).eval()
    x = torch.randn(3, *shape)
    with torch.no_grad():
        emb1, logits1 = model(x)
        emb2, logits2 = model(x)
        _, logits_single = model(x[1:2])
    assert emb1.shape == (3, emb_dim) and logits1.shape == (3, 2)
    assert torch.equal(emb1, emb2) and torch.equal(logits1, logits2)
    torch.testing.assert_close(logits_single, logits1[1:2], rtol=1e-4, atol=1e-5)  # no batch coupling in eval


def test_train_mode_is_stochastic_and_updates_bn_stats() -> None:
    torch.manual_seed(0)
    model = build_backend("aasist", (30, 16)).train()
    x = torch.randn(4, 30, 16)
    before = model.encoder[
        1
    ].bn1.running_mean.clone()  # the release's unused pre-activation BN still tracks stats
    _, a = model(x)
    _, b = model(x)
    assert not torch.equal(a, b)  # dropout active
    assert not torch.equal(before, model.encoder[1].bn1.running_mean)


@pytest.mark.parametrize(("name", "shape"), [("aasist", (30, 16)), ("lcnn", (32, 32))])
def test_gradient_reaches_every_used_parameter(name: str, shape: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = build_backend(name, shape).train()
    _, logits = model(torch.randn(4, *shape))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 0, 1])).backward()
    unused = {
        n for n in ("encoder.1.bn1", "encoder.2.bn1", "encoder.3.bn1", "encoder.4.bn1", "encoder.5.bn1")
    }
    missing = [
        n
        for n, p in model.named_parameters()
        if (p.grad is None or not p.grad.abs().sum() > 0) and n.rsplit(".", 1)[0] not in unused
    ]
    assert missing == []


def test_shape_errors_are_typed_and_early() -> None:
    with pytest.raises(BackendInputShapeError, match="T >= 3"):
        build_backend("aasist", (2, 1024))
    with pytest.raises(BackendInputShapeError, match="16 x 16"):
        build_backend("lcnn", (505, 8))
    with pytest.raises(BackendInputShapeError, match="16 x 16"):
        build_backend("lcnn", (15, 1024), freq_major=False)
    with pytest.raises(BackendInputShapeError, match="frame_shape"):
        build_backend("lcnn", (505,))
    with pytest.raises(UnknownBackend, match="aasist, lcnn") as err:
        build_backend("resnet", (201, 1024))
    assert isinstance(err.value, CodecfakeError)
    with pytest.raises(BackendError, match="bad option"):
        build_backend("lcnn", (505, 80), proj_dim=3)
