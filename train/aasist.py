"""W2V2-AASIST back-end: the paper's graph-attention classifier over frozen frame features.

Follows the released ``W2VAASIST`` layer for layer (447,242 trainable parameters for (201, 1024) input), including the
quirks that change numbers: residual blocks have no max-pool; ``conv1`` reads the block input, so the ``bn1 -> SELU``
pre-activation of blocks 2-6 is computed only to update ``bn1``'s running statistics; the first heterogeneous layer of
each branch receives the unexpanded master parameter; the master node is neither normalised nor activated.

Module names are ours; ``codecfake.train.official`` maps the release's names onto them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FILTERS = ((1, 32), (32, 32), (32, 64), (64, 64), (64, 64), (64, 64))
GAT_DIMS = (64, 32)
TEMP_GAT = 2.0
TEMP_HTRG = 100.0
POOL_RATIO = 0.5
POOL_DROPOUT = 0.3


def _xavier_param(*size: int) -> nn.Parameter:
    weight = nn.Parameter(torch.empty(*size))
    nn.init.xavier_normal_(weight)
    return weight


def _bn_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """Batch-norm over the feature axis of node features (B, N, D), statistics over B*N."""
    return bn(x.reshape(-1, x.shape[-1])).view(x.shape)


class ResidualBlock(nn.Module):
    """conv(2x3, pad 1,1) -> BN -> SELU -> conv(2x3, pad 0,1) + identity (1x3 conv if channels change); no pooling."""

    def __init__(self, c_in: int, c_out: int, *, first: bool = False) -> None:
        super().__init__()
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm2d(
                c_in
            )  # the release's pre-activation; its output is discarded (see forward)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.downsample = (
            nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1)) if c_in != c_out else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C_out, H, W)
        if not self.first and self.training:
            self.bn1(x)  # release quirk: updates bn1's running stats, result unused; a no-op in eval mode
        out = F.selu(self.bn2(self.conv1(x)))  # (B, C_out, H + 1, W)
        out = self.conv2(out)  # (B, C_out, H, W)
        identity = self.downsample(x) if self.downsample is not None else x
        return out + identity


class AttentionMap(nn.Module):
    """1x1 conv (C -> 2C) -> SELU -> BN -> 1x1 conv (2C -> C): attention logits over (freq, time)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(channels, 2 * channels, kernel_size=1)
        self.bn = nn.BatchNorm2d(2 * channels)
        self.conv_out = nn.Conv2d(2 * channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, F, T) -> (B, C, F, T)
        return self.conv_out(self.bn(F.selu(self.conv_in(x))))


class GraphAttention(nn.Module):
    """Homogeneous graph attention over a fully connected node set (AASIST GAT layer)."""

    def __init__(self, d_in: int, d_out: int, temperature: float) -> None:
        super().__init__()
        self.att_proj = nn.Linear(d_in, d_out)
        self.att_weight = _xavier_param(d_out, 1)
        self.proj_with_att = nn.Linear(d_in, d_out)
        self.proj_without_att = nn.Linear(d_in, d_out)
        self.bn = nn.BatchNorm1d(d_out)
        self.input_drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, D_in) -> (B, N, D_out)
        x = self.input_drop(x)
        pair = x.unsqueeze(2) * x.unsqueeze(1)  # (B, N, N, D_in)
        score = torch.tanh(self.att_proj(pair)) @ self.att_weight  # (B, N, N, 1)
        att = F.softmax(score.squeeze(-1) / self.temperature, dim=-1)  # (B, N, N), over neighbours j
        out = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return F.selu(_bn_nodes(self.bn, out))


class HeteroGraphAttention(nn.Module):
    """Heterogeneous attention over two node types plus a master node (AASIST HS-GAL)."""

    def __init__(self, d_in: int, d_out: int, temperature: float) -> None:
        super().__init__()
        self.proj_type1 = nn.Linear(d_in, d_in)
        self.proj_type2 = nn.Linear(d_in, d_in)
        self.att_proj = nn.Linear(d_in, d_out)
        self.att_projM = nn.Linear(d_in, d_out)
        self.att_weight11 = _xavier_param(d_out, 1)
        self.att_weight22 = _xavier_param(d_out, 1)
        self.att_weight12 = _xavier_param(d_out, 1)
        self.att_weightM = _xavier_param(d_out, 1)
        self.proj_with_att = nn.Linear(d_in, d_out)
        self.proj_without_att = nn.Linear(d_in, d_out)
        self.proj_with_attM = nn.Linear(d_in, d_out)
        self.proj_without_attM = nn.Linear(d_in, d_out)
        self.bn = nn.BatchNorm1d(d_out)
        self.input_drop = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x1 (B, N1, D_in), x2 (B, N2, D_in), master (B or 1, 1, D_in) -> (B, N1, D_out), (B, N2, D_out), (B, 1, D_out)."""
        n1 = x1.shape[1]
        x = torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1)  # (B, N, D_in)
        x = self.input_drop(x)
        att = self._node_attention(x, n1)  # (B, N, N)
        master = self._update_master(x, master)  # (B, 1, D_out)
        out = self.proj_with_att(att @ x) + self.proj_without_att(x)
        out = F.selu(_bn_nodes(self.bn, out))  # (B, N, D_out)
        return out[:, :n1], out[:, n1:], master

    def _node_attention(self, x: torch.Tensor, n1: int) -> torch.Tensor:
        pair = torch.tanh(self.att_proj(x.unsqueeze(2) * x.unsqueeze(1)))  # (B, N, N, D_out)
        score = torch.empty(pair.shape[:-1], dtype=pair.dtype, device=pair.device)  # (B, N, N)
        score[:, :n1, :n1] = (pair[:, :n1, :n1] @ self.att_weight11).squeeze(-1)
        score[:, n1:, n1:] = (pair[:, n1:, n1:] @ self.att_weight22).squeeze(-1)
        score[:, :n1, n1:] = (pair[:, :n1, n1:] @ self.att_weight12).squeeze(-1)
        score[:, n1:, :n1] = (pair[:, n1:, :n1] @ self.att_weight12).squeeze(-1)
        return F.softmax(score / self.temperature, dim=-1)

    def _update_master(self, x: torch.Tensor, master: torch.Tensor) -> torch.Tensor:
        score = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # (B, N, 1)
        att = F.softmax(score / self.temperature, dim=1)  # (B, N, 1), over nodes
        pooled = att.transpose(1, 2) @ x  # (B, 1, D_in)
        return self.proj_with_attM(pooled) + self.proj_without_attM(master)


class GraphPool(nn.Module):
    """Keep the top max(1, floor(k*N)) nodes by sigmoid score, scaled by that score."""

    def __init__(self, d_in: int, k: float = POOL_RATIO, dropout: float = POOL_DROPOUT) -> None:
        super().__init__()
        self.k = k
        self.proj = nn.Linear(d_in, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (B, N, D) -> (B, max(1, floor(k*N)), D)
        scores = torch.sigmoid(self.proj(self.drop(h)))  # (B, N, 1)
        n_keep = max(int(h.shape[1] * self.k), 1)
        _, idx = torch.topk(scores, n_keep, dim=1)  # (B, n_keep, 1)
        return torch.gather(h * scores, 1, idx.expand(-1, -1, h.shape[-1]))


class Branch(nn.Module):
    """One of the two inference branches: HS-GAL -> pool -> HS-GAL with residual adds, with its own master node."""

    def __init__(self) -> None:
        super().__init__()
        d0, d1 = GAT_DIMS
        self.master = nn.Parameter(torch.randn(1, 1, d0))
        self.htrg1 = HeteroGraphAttention(d0, d1, TEMP_HTRG)
        self.pool_s = GraphPool(d1)
        self.pool_t = GraphPool(d1)
        self.htrg2 = HeteroGraphAttention(d1, d1, TEMP_HTRG)

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """t (B, Nt, 64), s (B, Ns, 64) -> t (B, Nt', 32), s (B, Ns', 32), master (B, 1, 32)."""
        t1, s1, m1 = self.htrg1(t, s, self.master)  # the release passes the unexpanded (1, 1, 64) master
        s1, t1 = self.pool_s(s1), self.pool_t(t1)
        t_aug, s_aug, m_aug = self.htrg2(t1, s1, m1)
        return t1 + t_aug, s1 + s_aug, m1 + m_aug


class AASIST(nn.Module):
    """W2V2-AASIST over frame features x (B, T, D) -> (embedding (B, 160), logits (B, 2) [bona fide, spoof]).

    Spectral nodes: ``proj_dim // 3`` (42 for the paper's 128); temporal nodes: ``T // 3`` (67 for T = 201).
    """

    def __init__(self, frame_shape: tuple[int, int], proj_dim: int = 128, n_classes: int = 2) -> None:
        super().__init__()
        n_frames, dim = frame_shape
        self.frame_shape = (int(n_frames), int(dim))
        self.n_spectral = proj_dim // 3
        self.n_temporal = n_frames // 3
        d0, d1 = GAT_DIMS
        self.proj = nn.Linear(dim, proj_dim)
        self.stem_bn = nn.BatchNorm2d(1)
        self.encoder = nn.Sequential(*(ResidualBlock(a, b, first=i == 0) for i, (a, b) in enumerate(FILTERS)))
        self.encoder_bn = nn.BatchNorm2d(FILTERS[-1][1])
        self.attention = AttentionMap(FILTERS[-1][1])
        self.pos_spectral = nn.Parameter(torch.randn(1, self.n_spectral, FILTERS[-1][1]))
        self.gat_spectral = GraphAttention(FILTERS[-1][1], d0, TEMP_GAT)
        self.gat_temporal = GraphAttention(FILTERS[-1][1], d0, TEMP_GAT)
        self.pool_spectral = GraphPool(d0)
        self.pool_temporal = GraphPool(d0)
        self.branches = nn.ModuleList([Branch(), Branch()])
        self.branch_drop = nn.Dropout(0.2)
        self.readout_drop = nn.Dropout(0.5)
        self.classifier = nn.Linear(5 * d1, n_classes)  # (B, 2); trace: (B, K)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.proj(x)  # (B, T, 128)
        x = x.transpose(1, 2).unsqueeze(1)  # (B, 1, 128, T)
        x = F.selu(self.stem_bn(F.max_pool2d(x, (3, 3))))  # (B, 1, 42, T//3)
        x = F.selu(self.encoder_bn(self.encoder(x)))  # (B, 64, 42, T//3)
        w = self.attention(x)  # (B, 64, 42, T//3)
        e_s = (x * F.softmax(w, dim=-1)).sum(dim=-1).transpose(1, 2) + self.pos_spectral  # (B, 42, 64)
        e_t = (x * F.softmax(w, dim=-2)).sum(dim=-2).transpose(1, 2)  # (B, T//3, 64)
        s = self.pool_spectral(self.gat_spectral(e_s))  # (B, 21, 64)
        t = self.pool_temporal(self.gat_temporal(e_t))  # (B, T//6, 64)
        outs = [self.branches[i](t, s) for i in range(2)]
        t = torch.maximum(*(self.branch_drop(o[0]) for o in outs))  # (B, Nt', 32)
        s = torch.maximum(*(self.branch_drop(o[1]) for o in outs))  # (B, Ns', 32)
        master = torch.maximum(*(self.branch_drop(o[2]) for o in outs))  # (B or 1, 1, 32)
        master = master.expand(x.shape[0], -1, -1).squeeze(1)  # (B, 32)
        emb = torch.cat(
            [t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1), master], dim=1
        )  # (B, 160)
        logits = self.classifier(self.readout_drop(emb))  # (B, 2)
        return emb, logits
