"""A Codecfake-shaped store for planning `paper-all` at the paper's scale, with no audio and tiny arrays.

Every part the paper's tables read, as the real `make features` makes them (one set per part): Codecfake train, dev,
C1..C7 (bench/scale_fixture.py's label files, 1,137,584 clips), ASVspoof 2019 LA train, dev, eval (121,461) and
In-the-Wild (31,779); each for the three extractors of the tables' cells (mel, XLS-R layer 5, WavLM layer 5), so
3 x 1,290,824 clip rows in 39 sets, each with a complete (1, 4) float16 array (the metadata, shard and commit
machinery at full N, no feature bytes).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.scale_fixture import LA_SIZES, PAPER_PARTS, write_codecfake_labels, write_la_protocols

FRAME = (1, 4)
LA_EVAL = (7_355, 63_882)  # bona fide, spoof
ITW_SIZES = (19_963, 11_816)
EXTRACTORS = {  # extractor -> (array, model id)
    "mel": ("mel", "mel-80-512-128"),
    "xlsr": ("L05", "facebook/wav2vec2-xls-r-300m"),
    "wavlm": ("L05", "microsoft/wavlm-large"),
}


def write_sources(work: Path) -> None:
    """Label files / protocols / meta.csv for every part (no audio)."""
    write_codecfake_labels(work / "Codecfake", PAPER_PARTS)
    write_la_protocols(work / "LA", LA_SIZES)
    proto = work / "LA" / "ASVspoof2019_LA_cm_protocols" / "ASVspoof2019.LA.cm.eval.trl.txt"
    bona, spoof = LA_EVAL
    lines = [f"LA_{i % 20:04d} LA_E_{i:07d} - - bonafide" for i in range(bona)]
    lines += [f"LA_{i % 20:04d} LA_E_{bona + i:07d} - A{7 + i % 13:02d} spoof" for i in range(spoof)]
    proto.write_text("\n".join(lines) + "\n", encoding="utf-8")
    itw = work / "ITW"
    itw.mkdir(parents=True, exist_ok=True)
    rows = [
        f"{i}.wav,spk{i % 58},{'bona-fide' if i < ITW_SIZES[0] else 'spoof'}" for i in range(sum(ITW_SIZES))
    ]
    (itw / "meta.csv").write_text("file,speaker,label\n" + "\n".join(rows) + "\n", encoding="utf-8")


def part_manifests(work: Path) -> list[tuple[str, object]]:
    """(part name, manifest) of every part, parsed as `make features` parses them (paths not checked)."""
    from codecfake.corpus.protocols import LA_PARTS, parse_asvspoof2019, parse_codecfake, parse_itw

    out = [
        (p, parse_codecfake(work / "Codecfake", parts=(p,)).validate(check_paths=False)) for p in PAPER_PARTS
    ]
    for part in ("train", "dev", "eval"):
        m = parse_asvspoof2019(work / "LA", splits=(LA_PARTS[part],)).validate(check_paths=False)
        out.append((part, m))
    out.append(("", parse_itw(work / "ITW").validate(check_paths=False)))
    return out


def write_set(store, manifest, part: str, extractor: str, writers: int = 8) -> str:
    """The part's set for ``extractor`` with every shard of its tiny array committed; returns its key."""
    from codecfake.extract.pipeline import manifest_meta
    from codecfake.store import FeatureSetSpec

    array, model_id = EXTRACTORS[extractor]
    spec = FeatureSetSpec(
        corpus=manifest.name,
        manifest_sha256=manifest.content_hash(),
        extractor=extractor,
        model_id=model_id,
        weights_sha256="" if extractor == "mel" else "0" * 64,
        part=part,
    )
    if store.exists(spec.key) and store.open(spec.key).is_complete(array):
        return spec.key
    fs = store.create(spec, manifest_meta(manifest), mode="overwrite", nonfinite="reject")
    fs.ensure_array(array, FRAME)
    block = np.ones((fs.shard_size, *FRAME), np.float16)

    def write(s: int) -> None:
        a, b = fs.shard_bounds(s)
        fs.write_shard(array, s, block[: b - a])

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(fs.n_shards)))
    fs.finalize(array)
    return fs.key


def build_store(work: Path) -> tuple[Path, int]:
    """The 39-set store under ``work/features`` (reused when complete); (its root, clip rows)."""
    from codecfake.store import FeatureStore

    if not (work / "Codecfake").is_dir():
        write_sources(work)
    store = FeatureStore(work / "features")
    parts = part_manifests(work)
    for extractor in EXTRACTORS:
        for part, manifest in parts:
            write_set(store, manifest, part, extractor)
    return work / "features", len(EXTRACTORS) * sum(len(m) for _, m in parts)  # type: ignore[arg-type]
