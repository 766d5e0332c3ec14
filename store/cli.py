"""``codecfake store …``: list, inspect, verify, compute statistics, export/import HDF5, remove feature sets."""

from __future__ import annotations

import argparse
import json
from typing import Any

from codecfake.cliargs import add_command, add_store, store_root


def register(subparsers: Any) -> None:
    """Add ``store`` and its subcommands to the top-level parser."""
    p = add_command(subparsers, "store", help="inspect and maintain the feature store")
    sub = p.add_subparsers(dest="store_command", metavar="SUBCOMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sp = add_command(sub, name, help=help_text)
        add_store(sp)
        return sp

    sp = add("ls", "list feature sets: key, clips, arrays (complete?), model")
    sp.add_argument("root", nargs="?", type=store_root, help="store root (overrides --store)")
    sp.set_defaults(func=_ls)
    sp = add("info", "spec, provenance, arrays, shard progress and rejects of one set")
    sp.add_argument("key")
    sp.add_argument("--json", action="store_true", help="print the attributes as JSON")
    sp.add_argument(
        "--max-rejects", type=int, default=20, help="rejected clips listed per array (0: all) [20]"
    )
    sp.set_defaults(func=_info)
    sp = add(
        "verify", "check provenance, every shard present and readable, non-finite counts; exit 1 on problems"
    )
    sp.add_argument("key")
    sp.add_argument("--allow-nonfinite", action="store_true", help="stored inf/NaN is not a problem")
    sp.add_argument("--quick", action="store_true", help="skip reading the data (records and shapes only)")
    sp.set_defaults(func=_verify)
    sp = add("stats", "per-dimension mean/std (float64, dask) of each array, stored in the set's attributes")
    sp.add_argument("key")
    sp.add_argument("--array", action="append", help="array name (repeatable; default all)")
    sp.set_defaults(func=_stats)
    sp = add("export-hdf5", "write a feature set to one HDF5 file (h5py)")
    sp.add_argument("key")
    sp.add_argument("file")
    sp.set_defaults(func=_export)
    sp = add("import-hdf5", "recreate a feature set from an export-hdf5 file")
    sp.add_argument("file")
    sp.add_argument("--force", action="store_true", help="overwrite an existing set with the same key")
    sp.add_argument("--resume", action="store_true", help="complete a partly imported set")
    sp.set_defaults(func=_import)
    sp = add("rm", "delete a feature set")
    sp.add_argument("key")
    sp.set_defaults(func=_rm)


def _store(args: argparse.Namespace) -> Any:
    from codecfake.store.featurestore import FeatureStore

    return FeatureStore(getattr(args, "root", None) or args.store)


def _ls(args: argparse.Namespace) -> int:
    infos = _store(args).list()
    if not infos:
        print(f"no feature sets under {getattr(args, 'root', None) or args.store}")
    else:
        print("key\tcorpus\tpart\tclips\tarrays\tmodel\tcreated")
    for i in sorted(
        infos, key=lambda i: (i.corpus, i.extractor, i.model_id, i.key)
    ):  # a corpus' parts together
        arrays = ",".join(f"{a}{'' if done else '(partial)'}" for a, done in i.arrays.items()) or "-"
        print(
            f"{i.key}\t{i.corpus}\t{i.part or '(all)'}\t{i.n_clips} clips\t{arrays}\t{i.model_id}\t{i.created_utc}"
        )
    return 0


def _info(args: argparse.Namespace) -> int:
    fs = _store(args).open(args.key)
    attrs = fs.attrs
    if args.json:
        print(json.dumps(attrs, indent=2, default=str))
        return 0
    print(
        f"key         {fs.key}\nlocation    {fs.location}\nclips       {fs.n_clips} ({fs.n_shards} shards of "
        f"{fs.shard_size})\ncompressor  {fs.compressor or 'none'}"
    )
    for k, v in fs.spec.to_dict().items():
        print(f"spec.{k:<16}{v}")
    prov = fs.provenance
    print(f"created     {prov.get('created_utc')}\ncommand     {' '.join(prov.get('command', []))}")
    print(f"versions    {prov.get('versions')}")
    for name in fs.arrays:
        t, d = fs.frame_shape(name)
        done = len(fs.committed(name))
        rejects = fs.rejects(name)
        print(
            f"array {name}: ({fs.n_clips}, {t}, {d}) {fs.dtype}, {done}/{fs.n_shards} shards, "
            f"{len(rejects)} rejected, stats {'yes' if name in attrs.get('stats', {}) else 'no'}"
        )
        _print_rejects(fs.key, rejects, args.max_rejects)
    return 0


def _print_rejects(key: str, rejects: list[dict[str, Any]], limit: int) -> None:
    """One line per rejected clip (index, utt_id, reason), the first ``limit`` (0: all)."""
    shown = rejects if limit <= 0 else rejects[:limit]
    for r in shown:
        print(f"  rejected {r['index']}\t{r['utt_id']}\t{r['reason']}")
    if len(shown) < len(rejects):
        print(f"  … {len(rejects) - len(shown)} more: `codecfake store info {key} --max-rejects 0` lists all")


def _progress(total: int | None, desc: str) -> Any:
    from codecfake.progress import TqdmProgress

    bar = TqdmProgress()
    bar.start(desc, total, "shard")
    return bar


def _verify(args: argparse.Namespace) -> int:
    from codecfake.store.verify import verify

    fs = _store(args).open(args.key)
    with _progress(fs.n_shards * len(fs.arrays), "verify") as bar:
        rep = verify(
            fs,
            allow_nonfinite=args.allow_nonfinite,
            check_data=not args.quick,
            on_shard=lambda _n, _s: bar.advance(),
        )
    for note in rep.notes:
        print(f"  {note}")
    for problem in rep.problems:
        print(f"PROBLEM {problem}")
    print(f"{fs.key}: {'OK' if rep.ok else f'{len(rep.problems)} problem(s)'}")
    return 0 if rep.ok else 1


def _stats(args: argparse.Namespace) -> int:
    import numpy as np

    from codecfake.store.stats import compute_stats

    fs = _store(args).open(args.key)
    for name in args.array or fs.arrays:
        st = compute_stats(fs, name)
        mean, std = np.asarray(st["mean"]), np.asarray(st["std"])
        print(
            f"{name}: {st['valid_clips']} clips, {mean.size} dims; mean of means {mean.mean():.4g}, "
            f"|mean| max {np.abs(mean).max():.4g}, std min/median/max {std.min():.4g}/{np.median(std):.4g}/"
            f"{std.max():.4g} (stored in attributes)"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    from codecfake.store.hdf5 import export_hdf5

    fs = _store(args).open(args.key)
    with _progress(fs.n_shards * len(fs.arrays), "export") as bar:
        export_hdf5(fs, args.file, on_shard=lambda _n, _s: bar.advance())
    print(f"{fs.key} -> {args.file}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from codecfake.store.hdf5 import import_hdf5

    mode = "overwrite" if args.force else ("resume" if args.resume else "create")
    with _progress(None, "import") as bar:
        fs = import_hdf5(_store(args), args.file, mode=mode, on_shard=lambda _n, _s: bar.advance())
    print(f"{args.file} -> {fs.location}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    _store(args).remove(args.key)
    print(f"removed {args.key}")
    return 0
