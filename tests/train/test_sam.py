"""SAM / ASAM / csam-pd steps on toy models against hand-computed two-pass updates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codecfake.train.csam import PerDomainSAM
from codecfake.train.sam import SAM, frozen_bn_stats, plain_step, sam_epsilon


def _mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(3, 1)


def _grads(model: nn.Module, batch) -> list[torch.Tensor]:
    model.zero_grad()
    _mse(model, batch).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_one_sam_step_equals_the_hand_computed_update() -> None:
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    rho, lr = 0.05, 0.1
    # by hand with plain SGD as the base: g = dL/dw at w; eps = rho g/||g||; w' = w - lr * dL/dw at (w + eps)
    ref = _linear()
    w0 = [p.detach().clone() for p in ref.parameters()]
    g = _grads(ref, (x, y))
    norm = torch.sqrt(sum((gi**2).sum() for gi in g))
    with torch.no_grad():
        for p, gi in zip(ref.parameters(), g):
            p.add_(rho * gi / norm)
    g2 = _grads(ref, (x, y))
    expected = [w - lr * gi for w, gi in zip(w0, g2)]

    model = _linear()
    sam = SAM(model, torch.optim.SGD(model.parameters(), lr=lr), rho=rho)
    loss = sam.step(_mse, (x, y))
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)
    assert loss == pytest.approx(float(_mse(_linear(), (x, y)).detach()))


def test_asam_scales_the_ascent_element_wise() -> None:
    w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    w.grad = torch.tensor([0.3, 0.1, -4.0])
    eps = sam_epsilon([w], rho=0.5, adaptive=True)[0]
    scaled = w.detach().abs() * w.grad  # |w| * g
    expected = 0.5 * w.detach() ** 2 * w.grad / scaled.norm()
    torch.testing.assert_close(eps, expected)
    plain = sam_epsilon([w], rho=0.5, adaptive=False)[0]
    torch.testing.assert_close(plain, 0.5 * w.grad / w.grad.norm())
    assert not torch.allclose(
        eps / plain, torch.full((3,), float(eps[0] / plain[0]))
    )  # not a uniform rescale


def test_sam_with_zero_rho_is_the_base_step() -> None:
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    a, b = _linear(), _linear()
    plain_step(a, torch.optim.Adam(a.parameters(), lr=0.01), _mse, (x, y))
    SAM(b, torch.optim.Adam(b.parameters(), lr=0.01), rho=0.0).step(_mse, (x, y))
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


class _BNNet(nn.Module):
    def __init__(self, p_drop: float = 0.0):
        super().__init__()
        self.lin, self.bn, self.drop, self.out = (
            nn.Linear(3, 4),
            nn.BatchNorm1d(4),
            nn.Dropout(p_drop),
            nn.Linear(4, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(self.bn(self.lin(x))))


def test_bn_statistics_are_untouched_by_pass_two() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    net = _BNNet()
    ref = _BNNet()
    ref.load_state_dict(net.state_dict())
    ref.train()
    ref(x)  # exactly one forward's worth of statistics updates
    SAM(net, torch.optim.SGD(net.parameters(), lr=0.0), rho=0.05).step(_mse, (x, y))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(net.bn, name), getattr(ref.bn, name), rtol=0, atol=0)
    before = {k: v.clone() for k, v in net.bn.state_dict().items()}
    with frozen_bn_stats(net):
        net(torch.randn(16, 3) * 10)
    for k, v in net.bn.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("same", [True, False])
def test_dropout_masks_in_pass_two(same: bool) -> None:
    # with rho = 0, pass two is at w itself: its gradient equals pass one's iff the dropout masks are the same
    torch.manual_seed(1)
    x, y = torch.randn(32, 3), torch.randn(32, 1)
    net = _BNNet(p_drop=0.5)
    sam = SAM(net, torch.optim.SGD(net.parameters(), lr=0.0), rho=0.0, same_dropout=same)
    seen: list[list[torch.Tensor]] = []

    def recording_loss(model, batch):
        loss = _mse(model, batch)
        loss.register_hook(lambda g: None)
        seen.append([loss.detach().clone()])
        return loss

    torch.manual_seed(5)
    sam.step(recording_loss, (x, y))
    after = torch.get_rng_state()
    assert len(seen) == 2
    assert torch.equal(seen[0][0], seen[1][0]) is same
    if same:  # the generator moved by exactly one pass, as a plain step would move it
        torch.manual_seed(5)
        net.train()
        net(x)
        assert torch.equal(torch.get_rng_state(), after)


def test_csam_pd_epsilon_depends_only_on_its_domain() -> None:
    torch.manual_seed(0)
    xa, ya = torch.randn(6, 3), torch.randn(6, 1)
    xb, yb = torch.randn(4, 3), torch.randn(4, 1)
    xb2, yb2 = torch.randn(4, 3) * 3, torch.randn(4, 1)
    net = _BNNet()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    pd = PerDomainSAM(net, torch.optim.SGD(net.parameters(), lr=0.0), rho=0.05)
    eps1, *_ = pd.domain_epsilons(_mse, [(xa, ya), (xb, yb)])
    net.load_state_dict(state)
    eps2, *_ = pd.domain_epsilons(_mse, [(xa, ya), (xb2, yb2)])
    for e1, e2 in zip(eps1[0], eps2[0]):
        torch.testing.assert_close(e1, e2, rtol=0, atol=0)  # domain a's ascent ignores domain b's clips
    assert any(not torch.allclose(e1, e2) for e1, e2 in zip(eps1[1], eps2[1]))
    # and ε_a is SAM's ε on domain a alone
    net.load_state_dict(state)
    net.zero_grad()
    _mse(net, (xa, ya)).backward()
    alone = sam_epsilon([p for p in net.parameters()], 0.05)
    for e, a in zip(eps1[0], alone):
        torch.testing.assert_close(e, a)


def test_csam_pd_descent_is_the_weighted_sum_of_perturbed_domain_gradients() -> None:
    x1, y1, x2, y2 = torch.randn(5, 3), torch.randn(5, 1), torch.randn(3, 3), torch.randn(3, 1)
    rho, lr, w = 0.1, 0.5, (5 / 8, 3 / 8)
    ref = _linear()
    w0 = [p.detach().clone() for p in ref.parameters()]
    total = [torch.zeros_like(p) for p in w0]
    for (x, y), wd in zip(((x1, y1), (x2, y2)), w):
        with torch.no_grad():
            for p, p0 in zip(ref.parameters(), w0):
                p.copy_(p0)
        g = _grads(ref, (x, y))
        norm = torch.sqrt(sum((gi**2).sum() for gi in g))
        with torch.no_grad():
            for p, gi in zip(ref.parameters(), g):
                p.add_(rho * gi / norm)
        for acc, gi in zip(total, _grads(ref, (x, y))):
            acc.add_(wd * gi)
    expected = [p0 - lr * t for p0, t in zip(w0, total)]
    model = _linear()
    PerDomainSAM(model, torch.optim.SGD(model.parameters(), lr=lr), rho=rho).step(
        _mse, [(x1, y1), (x2, y2)], w
    )
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)


def _pass_masks(sam: SAM, net: _BNNet) -> list[torch.Tensor]:
    masks: list[torch.Tensor] = []
    hook = net.drop.register_forward_hook(lambda _m, _i, out: masks.append(out == 0))
    x, y = torch.randn(64, 3) + 3.0, torch.randn(64, 1)  # inputs shifted so no unit is zero before dropout
    try:
        sam.step(_mse, (x, y))
    finally:
        hook.remove()
    assert len(masks) == 2
    return masks


@pytest.mark.parametrize("opt", ["sam", "asam", "csam"])
def test_trainer_default_redraws_dropout_masks_in_pass_two_like_the_release(opt: str) -> None:
    from codecfake.train.config import resolve_config

    config = resolve_config({"opt": opt})
    assert config.same_dropout is False
    torch.manual_seed(2)
    net = _BNNet(p_drop=0.5)
    net.lin.bias.data.fill_(5.0)
    net.train()
    sam = SAM(
        net,
        torch.optim.SGD(net.parameters(), lr=0.0),
        rho=config.rho,
        adaptive=config.adaptive,
        same_dropout=config.same_dropout,
    )
    first, second = _pass_masks(sam, net)
    assert first.any() and not torch.equal(first, second)  # fresh masks in pass two
    reuse = SAM(net, torch.optim.SGD(net.parameters(), lr=0.0), rho=config.rho, same_dropout=True)
    first, second = _pass_masks(reuse, net)
    assert first.any() and torch.equal(first, second)  # --same-dropout true: the same sub-network twice
