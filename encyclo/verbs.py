"""The measuring verbs of the CLI: compare, summary, bench. Each imports torch only when it runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .contracts import parse_shape
from .registry import EncycloError, registry
from .table import FORMATS, human, render


def _measure_options(p: argparse.ArgumentParser, *, modes: bool = True) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--dtype", default=None, help="float32 (default), bfloat16, float16; uint8 for image augmentations")
    if modes:
        p.add_argument("--mode", default="infer", help="infer (inference_mode forward) or train (forward + backward)")
        p.add_argument("--channels-last", action="store_true", help="run 4-D modules in channels_last memory format")
        p.add_argument("--compile", action="store_true", help="torch.compile each entry (compile time is reported apart)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the free cores)")


def _default_dtype(names: list[str], dtype: str | None) -> str:
    if dtype:
        return dtype
    from .measure import split_baseline

    ios = {registry().entry(split_baseline(n)[0].split("+", 1)[0]).io for n in names}
    return "uint8" if ios == {"image_augment"} else "float32"


# ---- compare ----------------------------------------------------------------------------------
def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare, describe, render_compare
    from .measure import Config

    shape = parse_shape(args.input)
    if args.save:
        from .gallery import check_drawable

        check_drawable(args.ids)  # before any measuring
    config = Config(device=args.device, dtype=_default_dtype(args.ids, args.dtype), mode=args.mode,
                    channels_last=args.channels_last, compile=args.compile, threads=args.threads)
    rows = compare(args.ids, shape, config, budget_s=args.budget, roofline=args.roofline)
    print(render_compare(rows, args.format, roofline=args.roofline))
    if args.format in ("table", "markdown"):
        print("\n" + describe(rows))
    if args.save:
        from .gallery import save_grid

        save_grid(args.ids, shape, Path(args.save))
        print(f"saved {args.save}", file=sys.stderr)
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _register_compare(sub) -> None:
    p = sub.add_parser("compare", help="entries side by side on one input: params, MACs, FLOPs, latency, memory")
    p.add_argument("ids", nargs="+", metavar="ID", help="ids, aliases, variants or compositions like resnet50+cbam")
    p.add_argument("--input", "-i", required=True, help="input shape, e.g. 1x64x56x56 (NxCxHxW, NxLxD or HxWxC)")
    _measure_options(p)
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed samples per entry (default 1)")
    p.add_argument("--roofline", action="store_true", help="add achieved GB/s, GFLOP/s and %% of roofline")
    p.add_argument("--format", "-f", choices=FORMATS, default="table")
    p.add_argument("--save", metavar="PNG", help="augmentations: also write a side-by-side image grid")
    p.set_defaults(func=cmd_compare)


# ---- summary ----------------------------------------------------------------------------------
def cmd_summary(args: argparse.Namespace) -> int:
    from .measure import Subject, count

    subject = Subject.of(args.id, parse_shape(args.input))
    if not subject.entry.is_module:
        raise EncycloError(f"'{args.id}' is an augmentation (io {subject.entry.io}): it has no layers to summarise")
    counted = count(subject, train=args.mode == "train", per_module=True)
    rows = [{"name": ("  " * r.depth) + (r.name.rsplit(".", 1)[-1] if r.depth else r.name), "path": r.name,
             "type": r.type, "depth": r.depth, "output_shape": r.output_shape, "params": r.params, "macs": r.macs,
             "flops": r.flops} for r in counted.modules if r.depth <= args.depth]
    columns = [("name", "layer"), ("type", "type"), ("output_shape", "output shape"), ("params", "params"),
               ("macs", "MACs")]
    if args.format == "json":
        print(json.dumps({"id": args.id, "input": args.input, "params": counted.params,
                          "trainable_params": counted.trainable_params, "macs": counted.macs,
                          "flops": counted.flops, "uncounted_ops": sorted(counted.uncounted), "layers": rows},
                         indent=2))
        return 0
    print(render(rows, columns, args.format, formatters={"params": lambda v, r: f"{v:,}",
                                                          "macs": lambda v, r: f"{v:,}"}))
    print(f"\ntotal params {counted.params:,} (trainable {counted.trainable_params:,}) | "
          f"MACs {counted.macs:,} ({human(counted.macs)}) | FLOPs {counted.flops:,} ({human(counted.flops)}) | "
          f"input {args.input}, {args.mode}, counted on {counted.device}")
    if counted.uncounted:
        print(f"ops with no FLOP estimate: {', '.join(sorted(counted.uncounted))}")
    return 0


def _register_summary(sub) -> None:
    p = sub.add_parser("summary", help="layer-by-layer table: name, type, output shape, params, MACs")
    p.add_argument("id")
    p.add_argument("--input", "-i", required=True)
    p.add_argument("--depth", type=int, default=3, help="deepest module level shown (default 3)")
    p.add_argument("--mode", choices=("infer", "train"), default="infer")
    p.add_argument("--format", "-f", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_summary)


# ---- bench ------------------------------------------------------------------------------------
def _named_or_committed(files: list[str]) -> list[Path]:
    """The results files named on the command line, else the committed ones."""
    from . import bench

    return [Path(f) for f in files] or bench.results_files()


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    if args.ids and args.ids[0] == "merge":
        files = [Path(f) for f in args.ids[1:]]
        if not files or not args.out:
            raise EncycloError("usage: encyclo bench merge FILE [FILE ...] --out MERGED.jsonl")
        for f in files:
            if not f.exists():
                raise EncycloError(f"bench merge: no such file {f}")
        merged = bench.merge_rows(bench.read_rows(f) for f in files)
        bench.write_rows(Path(args.out), merged)
        print(f"merged {len(files)} files into {args.out}: {len(merged)} rows")
        for line in bench.status_lines(Path(args.out)):
            print(line)
        return 0
    if args.ids and args.ids[0] == "prune":  # drop rows measured on code that has changed since
        for f in _named_or_committed(args.ids[1:]):
            rows = bench.read_rows(f)
            kept = bench.current_rows(rows)
            bench.write_rows(f, kept)
            print(f"{f}: removed {len(rows) - len(kept)} stale rows, kept {len(kept)}")
        return 0
    if args.ids and args.ids[0] == "status":
        for f in _named_or_committed(args.ids[1:]):
            for line in bench.status_lines(f):
                print(line)
        return 0
    if args.no_compat and args.compat_only:
        raise EncycloError("--no-compat and --compat-only exclude each other")
    reg = registry()
    if args.all:
        selected = reg.entries()
    elif args.category:
        selected = reg.entries(category=args.category)
    elif args.ids:
        selected = list({reg.entry(i).id: reg.entry(i) for i in args.ids}.values())
    else:
        raise EncycloError("name entries to benchmark, or use --category C or --all")
    out = Path(args.out) if args.out else bench.default_out(args.device)
    path = bench.run(selected, device=args.device, out=out, budget_s=args.budget, threads=args.threads,
                     modes=args.modes, dtypes=args.dtypes, inputs=args.inputs, compat=not args.no_compat,
                     measure=not args.compat_only, first_input=args.first_input)
    for line in bench.status_lines(path):
        print(line)
    return 0


def _register_bench(sub) -> None:
    from .schema import CATEGORIES

    p = sub.add_parser("bench", help="run entries' bench specs into a JSON Lines results file "
                                     "(also: bench merge FILES --out F; bench status [FILES]; "
                                     "bench prune [FILES]: drop stale rows)")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--category", "-c", choices=CATEGORIES)
    p.add_argument("--all", action="store_true", help="every entry")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timed samples per config (default 1)")
    p.add_argument("--modes", nargs="+", choices=("infer", "train"), help="only these modes of the bench specs")
    p.add_argument("--dtypes", nargs="+", help="only these dtypes of the bench specs")
    p.add_argument("--inputs", nargs="+", help="replace the specs' inputs (same rank)")
    p.add_argument("--no-compat", action="store_true", help="skip the compatibility matrix")
    p.add_argument("--compat-only", action="store_true", help="only the compatibility matrix (no timing)")
    p.add_argument("--first-input", action="store_true",
                   help="only each spec's first (reference) input: a quick pass over every entry")
    p.add_argument("--out", "-o", help="results file (default benchmarks/results/<device>.jsonl)")
    p.set_defaults(func=cmd_bench)


# ---- predict ----------------------------------------------------------------------------------
def cmd_predict(args: argparse.Namespace) -> int:
    from .inference import predict

    if args.weights is None:
        print("encyclo: warning: no --weights: the model has random weights and its predictions mean nothing",
              file=sys.stderr)
    found = predict(args.id, args.image, weights=args.weights, sha256=args.sha256, topk=args.topk,
                    labels=args.labels)
    rows = [{"rank": i + 1, "index": p.index, "label": p.label, "probability": p.probability}
            for i, p in enumerate(found)]
    print(render(rows, [("rank", "rank"), ("index", "class"), ("label", "label"), ("probability", "probability")],
                 args.format, formatters={"probability": lambda v, r: f"{v:.4f}"}))
    return 0


def _register_predict(sub) -> None:
    p = sub.add_parser("predict", help="top-k classes of an image under a classifier (local weights only)")
    p.add_argument("id", metavar="VARIANT")
    p.add_argument("--image", required=True, help="an image file opencv can read")
    p.add_argument("--weights", help="a local state_dict file (torch.load with weights_only=True)")
    p.add_argument("--sha256", help="expected sha256 of the weights file, checked before loading")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--labels", help="a text file with one class name per line")
    p.add_argument("--format", "-f", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_predict)


REGISTER = [_register_compare, _register_summary, _register_bench, _register_predict]
