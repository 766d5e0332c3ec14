"""Test helpers others may use too: the tests' toy back-end, release-shaped pickles and an independent forward of the
release's LCNN.

- :class:`ToyBackend` (mean over frames, Linear, optional batch norm, ReLU, dropout, Linear(2)) stands in for a real
  back-end wherever a test trains; :func:`toy_builder` builds it seeded, :func:`killable_toy_builder` builds it for
  subprocess tests that kill a run mid-epoch (dropout 0.3, 30 ms a forward while ``SLOW`` is set), and
  :func:`start_training_script` starts such a test's script, :func:`wait_for_step` waits for it to get that far.

- :func:`save_release_pickle` writes ``torch.save`` of a module tree in the release's class shape (classes
  ``model.W2VAASIST`` / ``model.LCNN`` and their submodules, optionally wrapped in ``torch.nn.DataParallel``) holding a
  given state dict under the release's names, as ``anti-spoofing_feat_model.pt`` files are.
- :func:`random_w2v2_lcnn_state` seeds a W2V2-LCNN state dict under the release's names (4,111,074 parameters plus
  batch-norm statistics), and :func:`release_lcnn_forward` computes what the release's ``LCNN.forward`` computes on
  what its scripts feed it (``feat.transpose(2, 3)`` of the stored features) — written from the layer list with
  ``torch.nn.functional``, never through our LCNN class, so it is an oracle for the import and for our layout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

RELEASE_CLASSES = (
    "W2VAASIST",
    "LCNN",
    "Residual_block",
    "GraphAttentionLayer",
    "HtrgGraphAttentionLayer",
    "GraphPool",
    "MaxFeatureMap2D",
)


class ToyBackend(torch.nn.Module):
    """(B, T, D) -> mean over T -> Linear -> BN -> ReLU -> Dropout -> Linear(2): (embedding (B, H), logits (B, 2)).
    ``batch_norm=False`` leaves the BN out; ``delay_s``: each forward sleeps that long first (a slow run to kill)."""

    def __init__(
        self,
        frame_shape: tuple[int, int],
        hidden: int = 8,
        dropout: float = 0.0,
        *,
        batch_norm: bool = True,
        delay_s: float = 0.0,
    ):
        super().__init__()
        self.frame_shape = tuple(frame_shape)
        self.proj = torch.nn.Linear(frame_shape[1], hidden)
        self.bn = torch.nn.BatchNorm1d(hidden) if batch_norm else torch.nn.Identity()
        self.drop = torch.nn.Dropout(dropout)  # p=0 draws nothing from the generator
        self.head = torch.nn.Linear(hidden, 2)
        self.delay_s = delay_s

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if tuple(x.shape[1:]) != self.frame_shape:
            raise ValueError(f"ToyBackend takes (B, {self.frame_shape}), got {tuple(x.shape)}")
        if self.delay_s:
            time.sleep(self.delay_s)
        emb = self.drop(torch.relu(self.bn(self.proj(x.mean(dim=1)))))  # (B, H)
        return emb, self.head(emb)  # (B, H), (B, 2)


def toy_builder(name: str, frame_shape: tuple[int, int]) -> torch.nn.Module:
    """The "toy" back-end, its weights seeded (0) whatever the caller drew before."""
    if name != "toy":
        raise KeyError(f"unknown backend {name!r}")
    torch.manual_seed(0)
    return ToyBackend(frame_shape)


def killable_toy_builder(name: str, frame_shape: tuple[int, int]) -> torch.nn.Module:
    """A toy back-end with dropout 0.3 (masks drawn from the run's generator) that sleeps 30 ms a forward while the
    environment variable ``SLOW`` is set: a test can then kill its process mid-epoch. Weights from the run's seed."""
    return ToyBackend(frame_shape, dropout=0.3, delay_s=0.03 if os.environ.get("SLOW") else 0.0)


def start_training_script(
    script: Path, store: Path, runs: Path, arg: str, *, slow: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``python SCRIPT STORE RUNS ARG`` (stdout and stderr together on one pipe); ``slow``: with ``SLOW=1`` in
    its environment, so that :func:`killable_toy_builder`'s back-end takes 30 ms a step."""
    return subprocess.Popen(
        [sys.executable, str(script), str(store), str(runs), arg],
        env={**os.environ, "SLOW": "1" if slow else ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_step(proc: subprocess.Popen[Any], last_json: Path, step: int, timeout_s: float = 600) -> None:
    """Return once the checkpoint record ``last_json`` says ``global_step`` >= ``step``, or ``proc`` has ended, or
    ``timeout_s`` has passed (generous: a loaded machine takes long to import torch; the wait ends on progress).
    A record not yet written, or caught mid-replace, is read again 20 ms later."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(last_json.read_text())["global_step"] >= step:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)


_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
# the release's LCNN: conv blocks (kernel, in, out); BN (affine=False) sizes after MFM; 2x2 max-pools
_LCNN_CONVS = {
    1: (5, 1, 64),
    2: (1, 32, 64),
    3: (3, 32, 96),
    4: (1, 48, 96),
    5: (3, 48, 128),
    6: (1, 64, 128),
}
_LCNN_CONVS |= {7: (3, 64, 64), 8: (1, 32, 64), 9: (3, 32, 64)}
_LCNN_BN = {2: ("conv2.2", 32), 3: ("conv3.3", 48), 4: ("conv4.2", 48), 6: ("conv6.2", 64)}
_LCNN_BN |= {7: ("conv7.2", 32), 8: ("conv8.2", 32)}
_LCNN_POOL = (1, 3, 5, 9)


def _node_class(tensors: dict, children: set, release: types.ModuleType) -> type[torch.nn.Module]:
    """A plausible class for one module of the tree (the importer reads names and tensors, not the classes' code)."""
    if children and not tensors:
        return torch.nn.Sequential if all(c.isdigit() for c in children) else release.Residual_block
    if children:
        return release.GraphAttentionLayer
    if "running_mean" in tensors:
        return torch.nn.BatchNorm2d
    weight = tensors.get("weight")
    if weight is not None and weight.dim() == 4:
        return torch.nn.Conv2d
    return torch.nn.Linear if weight is not None else release.GraphPool


def _release_module(
    state: Mapping[str, torch.Tensor], root_class: type[torch.nn.Module], release: types.ModuleType
) -> torch.nn.Module:
    """A module tree whose every parameter and buffer sits under its release name (e.g. encoder.0.conv1.weight)."""
    tree: dict = {}
    for key, value in state.items():
        node = tree
        *path, leaf = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value

    def build(node: dict, cls: type[torch.nn.Module]) -> torch.nn.Module:
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        for name, value in node.items():
            if isinstance(value, dict):
                tensors = {k: v for k, v in value.items() if isinstance(v, torch.Tensor)}
                children = {k for k, v in value.items() if isinstance(v, dict)}
                module.add_module(name, build(value, _node_class(tensors, children, release)))
            elif name in _BUFFERS:
                module.register_buffer(name, value.clone())
            else:
                module.register_parameter(name, torch.nn.Parameter(value.clone()))
        return module

    return build(tree, root_class)


def save_release_pickle(
    path: str | Path, state: Mapping[str, torch.Tensor], class_name: str, *, data_parallel: bool = False
) -> None:
    """``torch.save`` a module of class ``model.<class_name>`` holding ``state`` (release names) to ``path``;
    ``data_parallel``: wrapped in ``torch.nn.DataParallel`` as on a 2-GPU machine (``module.`` names, a pickled
    ``torch.device``). The fake ``model`` module exists only while saving: the importer must never need it."""
    release = types.ModuleType("model")
    for name in RELEASE_CLASSES:
        setattr(release, name, type(name, (torch.nn.Module,), {"__module__": "model", "__qualname__": name}))
    saved = sys.modules.get("model")
    sys.modules["model"] = release
    try:
        inner = _release_module(state, getattr(release, class_name), release)
        if data_parallel:
            wrapper = torch.nn.DataParallel.__new__(torch.nn.DataParallel)
            torch.nn.Module.__init__(wrapper)
            wrapper.dim, wrapper.module = 0, inner
            wrapper.device_ids, wrapper.output_device = [0, 1], 0
            wrapper.src_device_obj = torch.device("cuda", 0)
            inner = wrapper
        torch.save(inner, path)
    finally:
        if saved is None:
            del sys.modules["model"]
        else:
            sys.modules["model"] = saved


def random_w2v2_lcnn_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded W2V2-LCNN weights under the release's names: fc1 takes 24,576 = 32 x 64 x 12 inputs, the flattened
    (1024, 201) image; batch-norm statistics perturbed away from (0, 1) so a dropped BN shows."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for i, (k, c_in, c_out) in _LCNN_CONVS.items():
        fan_in = c_in * k * k
        state[f"conv{i}.0.weight"] = torch.randn(c_out, c_in, k, k, generator=g) / fan_in**0.5
        state[f"conv{i}.0.bias"] = 0.1 * torch.randn(c_out, generator=g)
        if i in _LCNN_BN:
            name, n = _LCNN_BN[i]
            state[f"{name}.running_mean"] = 0.2 * torch.randn(n, generator=g)
            state[f"{name}.running_var"] = 0.5 + torch.rand(n, generator=g)
            state[f"{name}.num_batches_tracked"] = torch.tensor(1000)
    for name, (n_out, n_in) in {"out.1": (160, 24576), "out.3": (256, 80), "fc_mu": (2, 256)}.items():
        state[f"{name}.weight"] = torch.randn(n_out, n_in, generator=g) / n_in**0.5
        state[f"{name}.bias"] = 0.1 * torch.randn(n_out, generator=g)
    return state


def _mfm(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[1] // 2
    return torch.max(x[:, :half], x[:, half:])


def release_lcnn_forward(
    state: Mapping[str, torch.Tensor], stored: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(embedding (B, 256), logits (B, 2)) of the release's LCNN in eval mode for stored features (B, T, D), fed as
    the release feeds them: (B, 1, T, D).transpose(2, 3) = (B, 1, D, T)."""
    x = stored.unsqueeze(1).transpose(2, 3)
    for i, (k, _, _) in _LCNN_CONVS.items():
        x = _mfm(F.conv2d(x, state[f"conv{i}.0.weight"], state[f"conv{i}.0.bias"], padding=k // 2))
        if i in _LCNN_POOL:  # conv3 pools before its BN; no other pooled block has one
            x = F.max_pool2d(x, 2, 2)
        if i in _LCNN_BN:
            name = _LCNN_BN[i][0]
            x = F.batch_norm(x, state[f"{name}.running_mean"], state[f"{name}.running_var"], training=False)
    x = torch.flatten(x, 1)  # dropout 0.7 is the identity in eval mode
    emb = F.linear(
        _mfm(F.linear(x, state["out.1.weight"], state["out.1.bias"])),
        state["out.3.weight"],
        state["out.3.bias"],
    )
    return emb, F.linear(emb, state["fc_mu.weight"], state["fc_mu.bias"])
