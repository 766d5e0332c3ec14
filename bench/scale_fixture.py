"""Codecfake-shaped label files with the paper's split sizes (no audio), for the 1.1 M-clip dry run.

Sizes from the Codecfake release (its README and loader notebook): train 740,747 = 7 × 105,821; dev 92,596 = 7 × 13,228;
C1..C6 26,456 each (13,228 real + 13,228 F0k fakes); C7 145,505 (13,228 real + 132,277 F07 fakes). File names follow
the release: VCTK ``p225_001.wav``, AISHELL-3 ``SSB05440084.wav``, fakes ``F0k_<realname>.wav``; method 0 = real.
"""

from __future__ import annotations

from pathlib import Path

PAPER_PARTS: dict[str, tuple[int, int, tuple[int, ...]]] = {  # part -> (n real, fakes per codec, codecs)
    "train": (105_821, 105_821, (1, 2, 3, 4, 5, 6)),
    "dev": (13_228, 13_228, (1, 2, 3, 4, 5, 6)),
    **{f"C{k}": (13_228, 13_228, (k,)) for k in range(1, 7)},
    "C7": (13_228, 132_277, (7,)),
}
LA_SIZES = {"train": (2_580, 22_800), "dev": (2_548, 22_296)}  # 19LA (bona fide, spoof): 25,380 / 24,844


def real_names(n: int, offset: int) -> list[str]:
    """``n`` distinct real file names, about 1/3 VCTK (``p<spk>_<utt>``) and 2/3 AISHELL-3 (``SSB<spk><utt>``)."""
    out = []
    for i in range(offset, offset + n):
        if i % 3 == 0:
            out.append(f"p{225 + i % 110}_{i // 110:04d}.wav")
        else:
            out.append(f"SSB{i % 218:04d}{i // 218:04d}.wav")
    return out


def write_codecfake_labels(
    root: Path, parts: dict[str, tuple[int, int, tuple[int, ...]]] = PAPER_PARTS
) -> int:
    """Write ``root/label/<part>.txt`` for every part; returns the number of lines."""
    label = Path(root) / "label"
    label.mkdir(parents=True, exist_ok=True)
    total, offset = 0, 0
    for part, (n_real, n_fake, codecs) in parts.items():
        reals = real_names(n_real, offset)
        offset += n_real
        lines = [f"{r} real 0" for r in reals]
        for k in codecs:
            pool = reals if n_fake <= n_real else real_names(n_fake, offset)
            if n_fake > n_real:
                offset += n_fake
            lines += [f"F0{k}_{r} fake {k}" for r in pool[:n_fake]]
        (label / f"{part}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(lines)
    return total


def write_la_protocols(root: Path, sizes: dict[str, tuple[int, int]] = LA_SIZES) -> int:
    """ASVspoof 2019 LA train/dev CM protocols (eval left out: co-training reads train and dev)."""
    proto = Path(root) / "ASVspoof2019_LA_cm_protocols"
    proto.mkdir(parents=True, exist_ok=True)
    names = {"train": "ASVspoof2019.LA.cm.train.trn.txt", "dev": "ASVspoof2019.LA.cm.dev.trl.txt"}
    total = 0
    for split, (n_bona, n_spoof) in sizes.items():
        tag = "T" if split == "train" else "D"
        lines = [f"LA_{i % 20:04d} LA_{tag}_{i:07d} - - bonafide" for i in range(n_bona)]
        lines += [f"LA_{i % 20:04d} LA_{tag}_{n_bona + i:07d} - A0{1 + i % 6} spoof" for i in range(n_spoof)]
        (proto / names[split]).write_text("\n".join(lines) + "\n", encoding="utf-8")
        total += len(lines)
    return total
