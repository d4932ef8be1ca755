"""The ``encyclo`` command line. User errors print one line to stderr and exit with status 2.

``list``, ``show`` and ``check --no-import`` never import torch; the measuring verbs import it lazily.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

from . import registry as reg_mod
from .registry import EncycloError
from .schema import CATEGORIES
from .table import FORMATS, render

USAGE_ERROR = 2


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"encyclo: warning: {message}\n"


# ---- list ---------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    found = reg_mod.registry().entries(category=args.category, pattern=args.pattern, tag=args.tag)
    rows = [{"id": e.id, "category": e.category, "kind": e.kind, "io": e.io, "year": e.paper.year,
             "name": e.name, "aliases": list(e.aliases), "variants": list(e.variants), "tags": list(e.tags),
             "arxiv": e.paper.arxiv} for e in found]
    columns = [("id", "id"), ("category", "category"), ("kind", "kind"), ("year", "year"), ("name", "name"),
               ("variants", "variants")]
    print(render(rows, columns, args.format,
                 formatters={"year": lambda v, r: str(v),
                             "variants": lambda v, r: ", ".join(v) if v else "-"}))
    if args.format == "table":
        print(f"\n{len(rows)} entries" + (f" ({len(reg_mod.registry().broken)} broken, see `encyclo check`)"
                                           if reg_mod.registry().broken else ""))
    return 0


# ---- show ---------------------------------------------------------------------------------------
def entry_card(name: str) -> dict:
    """Everything `encyclo show` prints, as one JSON-able object (no torch import)."""
    entry, variant = reg_mod.registry().resolve(name)
    p = entry.paper
    return {
        "id": entry.id, "variant": variant, "name": entry.name, "category": entry.category, "kind": entry.kind,
        "summary": entry.summary, "aliases": list(entry.aliases), "tags": list(entry.tags),
        "paper": {"title": p.title, "authors": list(p.authors), "year": p.year, "venue": p.venue,
                  "arxiv": p.arxiv, "url": p.link, "code": p.code, "bibtex": p.bibtex},
        "impl": f"{entry.impl_file.name}:{entry.impl}", "io": entry.io, "defaults": entry.defaults,
        "variants": entry.variants, "slots": entry.slots, "preprocess": entry.preprocess,
        "claims": [{"what": c.what, "value": c.value, "unit": c.unit, "at": c.at, "source": c.source,
                    "tolerance": c.tolerance, "measure": c.measure, "deviation": c.deviation} for c in entry.claims],
        "bench": {"inputs": list(entry.bench.inputs), "modes": list(entry.bench.modes),
                  "dtypes": list(entry.bench.dtypes)},
        "folder": str(entry.folder), "code_hash": entry.code_hash,
    }


def cmd_show(args: argparse.Namespace) -> int:
    card = entry_card(args.id)
    if args.claims:  # measures the claims: imports torch and the entry's code
        from .claims import evaluate_claims

        for c, result in zip(card["claims"], evaluate_claims(reg_mod.registry().entry(args.id))):
            c.update(measured=result.measured, reproduced=result.reproduced, status=result.status_text)
    if args.format == "json":
        print(json.dumps(card, indent=2, default=str))
        return 0
    p = card["paper"]
    out = [f"{card['name']} ({card['id']}{', variant ' + card['variant'] if card['variant'] else ''})",
           f"  {card['summary']}", "",
           f"paper     {p['title']}", f"          {', '.join(p['authors'])}",
           f"          {p['venue']} {p['year']}  {p['url']}"]
    if p["code"]:
        out.append(f"code      {p['code']}")
    out += [f"category  {card['category']} / {card['kind']}   io: {card['io']}   impl: {card['impl']}",
            f"defaults  {json.dumps(card['defaults'])}"]
    if card["aliases"]:
        out.append(f"aliases   {', '.join(card['aliases'])}")
    if card["slots"]:
        out.append(f"slots     {', '.join(f'{k} -> {v}' for k, v in card['slots'].items())}")
    if card["variants"]:
        out.append("variants")
        out += [f"  {name:<16} {json.dumps(cfg)}" for name, cfg in card["variants"].items()]
    if card["preprocess"]:
        out.append(f"preprocess {json.dumps(card['preprocess'])}")
    out.append("claims" + ("" if args.claims else " (reproduced by the test suite; `--claims` measures them now)"))
    for c in card["claims"]:
        tol = f" ±{c['tolerance']:.2%}" if c["tolerance"] else ""
        at = ", ".join(f"{k}={v}" for k, v in c["at"].items()) or "defaults"
        mark = ("✓ " if c["reproduced"] != bool(c["deviation"]) else "✗ ") if "status" in c else ""
        line = f"  {mark}{c['what']} = {c['value']} {c['unit']}{tol} at {at}  [{c['source']}]"
        if "status" in c:
            line += f"\n    measured: {c['measured']} ({c['status']})"
        elif c["deviation"]:
            line += f"\n    known deviation: {c['deviation']}"
        out.append(line)
    b = card["bench"]
    out.append(f"bench     inputs {', '.join(b['inputs'])}; modes {', '.join(b['modes'])}; "
               f"dtypes {', '.join(b['dtypes'])}")
    out.append(f"folder    {card['folder']}  (code hash {card['code_hash']})")
    print("\n".join(out))
    return 0


# ---- check --------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from .checks import problems

    registry = reg_mod.registry()
    found = problems(registry, args.ids or None, import_code=not args.no_import)
    if args.claims and not found:
        from .claims import evaluate_claims

        for name in args.ids or [e.id for e in registry.entries()]:
            for result in evaluate_claims(registry.entry(name)):
                if not result.ok:
                    found.append(f"{name}: claim {result.claim.what} = {result.claim.value} {result.claim.unit}: "
                                 f"{result.status_text}")
    for problem in found:
        print(problem, file=sys.stderr)
    count = len(args.ids) if args.ids else len(registry)
    if found:
        print(f"encyclo check: {len(found)} problem(s)", file=sys.stderr)
        return 1
    print(f"encyclo check: {count} entries OK" + (" (claims reproduced)" if args.claims else ""))
    return 0


# ---- new ----------------------------------------------------------------------------------------
def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import scaffold

    root = Path(args.root) if args.root else reg_mod.builtin_root()
    folder = scaffold(args.spec, root)
    print(f"created {folder}/ with entry.yaml, {folder.name}.py, README.md, example.py, test_{folder.name}.py")
    print(f"fill in the TODOs, then run: encyclo check {folder.name}")
    return 0


# ---- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encyclo",
        description="An encyclopedia of deep-learning techniques whose every page runs.",
        epilog="Examples: encyclo list --category attention | encyclo show seblock | "
               "encyclo compare seblock cbam --input 1x64x56x56 | encyclo bench seblock --device cpu")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="list entries (fnmatch PATTERN over ids, aliases and variants)")
    p.add_argument("pattern", nargs="?", help="e.g. '*resnet*'")
    p.add_argument("--category", "-c", choices=CATEGORIES)
    p.add_argument("--tag", "-t")
    p.add_argument("--format", "-f", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="paper card, claims, io, variants and bench spec of one entry")
    p.add_argument("id")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument("--claims", action="store_true", help="also measure each claim against the code (imports torch)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("check", help="validate entries (all by default); exit 1 naming each problem")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--no-import", action="store_true", help="schema and static checks only (never imports torch)")
    p.add_argument("--claims", action="store_true", help="also measure every claim against the code")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("new", help="scaffold a new entry folder CATEGORY/ID with all five files")
    p.add_argument("spec", metavar="CATEGORY/ID")
    p.add_argument("--root", help="entries root to create it in (default: encyclo's own entries/)")
    p.set_defaults(func=cmd_new)

    for register in _measuring_verbs():
        register(sub)
    return parser


def _measuring_verbs():
    """Verbs that measure (they import torch when run, not when the parser is built)."""
    from . import verbs

    return verbs.REGISTER


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = _format_warning  # broken entries: one line each, no source echo
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except EncycloError as exc:
        print(f"encyclo: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("encyclo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
