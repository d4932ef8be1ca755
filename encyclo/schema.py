"""The entry.yaml schema: field types, allowed values and the messages that name what is wrong.

Pure Python, no torch: listing, showing and checking entries must stay fast and import-free.
Every error names the file, the field path and what was expected, e.g.
``entries/attention/seblock/entry.yaml: paper.year: expected an integer, got str '2018a'``.
"""

from __future__ import annotations

import re
from typing import Any

CATEGORIES = ("attention", "normalization", "augmentation", "architectures")

# io contract -> the rank of the ``--input`` shape it binds (design.md §4).
IO_CONTRACTS: dict[str, int] = {
    "feature_map": 4,  # (N, C, H, W) -> same shape; Cls(channels, **kw)
    "tokens": 3,  # (N, L, D) -> (N, L, D); Cls(dim, **kw)
    "batch_augment": 4,  # (images (N,C,H,W), targets (N,)) -> (images, soft targets (N, K))
    "image_augment": 3,  # (H, W, C) uint8 ndarray -> image
    "classifier": 4,  # (N, C, H, W) -> (N, num_classes); Cls(num_classes=1000, in_chans=3, **kw)
    "dense": 4,  # (N, C, H, W) -> (N, K, H, W); Cls(in_chans, num_classes, **kw)
}
MODULE_CONTRACTS = ("feature_map", "tokens", "classifier", "dense")
AUGMENT_CONTRACTS = ("batch_augment", "image_augment")
MODES = ("infer", "train")
FLOAT_DTYPES = ("float32", "bfloat16", "float16")
# Claims the registry measures itself; any other claim names a `measure` function in the entry's test file.
BUILTIN_CLAIMS = ("params", "macs", "flops")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area")
# Baselines timed beside an entry ("<id>@torch"): torch's own implementation of the same function, or a
# straightforward numpy implementation of an image augmentation.
BASELINES = ("torch", "numpy")

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
ARXIV_RE = re.compile(r"^(\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7})$")
SHAPE_RE = re.compile(r"^[1-9]\d*(x[1-9]\d*)*$")
PY_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SchemaError(ValueError):
    """One problem in one entry.yaml, already phrased for the user."""


def _type_name(value: Any) -> str:
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, field: str, expected: str, value: Any = None, *, got: bool = True) -> None:
        detail = f", got {_type_name(value)} {_show(value)}" if got else ""
        raise SchemaError(f"{self.where}: {field}: expected {expected}{detail}")

    def str_(self, data: dict, field: str, key: str, *, required: bool = True, pattern: re.Pattern | None = None,
             what: str = "a non-empty string") -> str | None:
        if key not in data:
            if required:
                raise SchemaError(f"{self.where}: {field}: required field is missing (expected {what})")
            return None
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(field, what, value)
        if pattern is not None and not pattern.match(value):
            self.fail(field, what, value)
        return value

    def str_list(self, data: dict, field: str, key: str, *, required: bool = False, non_empty: bool = False,
                 pattern: re.Pattern | None = None, what: str = "a list of strings") -> list[str]:
        if key not in data:
            if required:
                raise SchemaError(f"{self.where}: {field}: required field is missing (expected {what})")
            return []
        value = data[key]
        if not isinstance(value, list) or any(not isinstance(v, str) or not v for v in value):
            self.fail(field, what, value)
        if non_empty and not value:
            self.fail(field, f"{what} (at least one)", value)
        if pattern is not None:
            for v in value:
                if not pattern.match(v):
                    self.fail(field, what, v)
        return value

    def mapping(self, data: dict, field: str, key: str, *, required: bool = False) -> dict:
        if key not in data or data[key] is None:
            if required:
                raise SchemaError(f"{self.where}: {field}: required field is missing (expected a mapping)")
            return {}
        value = data[key]
        if not isinstance(value, dict):
            self.fail(field, "a mapping", value)
        for k in value:
            if not isinstance(k, str):
                self.fail(f"{field} key", "string keys", k)
        return value

    def known_keys(self, data: dict, field: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                prefix = f"{field}." if field else ""
                raise SchemaError(f"{self.where}: {prefix}{key}: unknown field (known: {', '.join(allowed)})")


TOP_LEVEL = ("id", "name", "category", "kind", "summary", "aliases", "tags", "paper", "impl", "io", "defaults",
             "variants", "slots", "preprocess", "claims", "bench", "related", "test_input", "baselines")
PAPER_FIELDS = ("title", "authors", "year", "venue", "arxiv", "url", "code", "doi")
CLAIM_FIELDS = ("what", "value", "unit", "at", "source", "tolerance", "measure", "deviation")
BENCH_FIELDS = ("inputs", "modes", "dtypes")
PREPROCESS_FIELDS = ("input_size", "resize", "interpolation", "mean", "std")


def validate(data: Any, *, where: str, folder_id: str, folder_category: str) -> dict:
    """Validate one parsed entry.yaml and return it with optional fields filled with their defaults.

    Raises:
        SchemaError: naming the file, the field and what was expected.
    """
    c = _Checker(where)
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a mapping at the top level, got {_type_name(data)}")
    c.known_keys(data, "", TOP_LEVEL)

    entry_id = c.str_(data, "id", "id", pattern=ID_RE, what="an id of lowercase letters, digits and '_'")
    if entry_id != folder_id:
        raise SchemaError(f"{where}: id: expected '{folder_id}' (the folder's name), got '{entry_id}'")
    c.str_(data, "name", "name")
    category = c.str_(data, "category", "category", what=f"one of {', '.join(CATEGORIES)}")
    if category not in CATEGORIES:
        c.fail("category", f"one of {', '.join(CATEGORIES)}", category)
    if category != folder_category:
        raise SchemaError(f"{where}: category: expected '{folder_category}' (the parent folder), got '{category}'")
    c.str_(data, "kind", "kind")
    c.str_(data, "summary", "summary")
    data["aliases"] = c.str_list(data, "aliases", "aliases", pattern=ID_RE, what="a list of ids ([a-z0-9_])")
    data["tags"] = c.str_list(data, "tags", "tags")
    data["related"] = c.str_list(data, "related", "related", what="a list of entry ids")

    paper = c.mapping(data, "paper", "paper", required=True)
    c.known_keys(paper, "paper", PAPER_FIELDS)
    c.str_(paper, "paper.title", "title")
    c.str_list(paper, "paper.authors", "authors", required=True, non_empty=True, what="a list of author names")
    year = paper.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2100:
        if "year" not in paper:
            raise SchemaError(f"{where}: paper.year: required field is missing (expected an integer year)")
        c.fail("paper.year", "an integer year", year)
    c.str_(paper, "paper.venue", "venue")
    c.str_(paper, "paper.arxiv", "arxiv", required=False, pattern=ARXIV_RE,
           what="an arXiv id as a quoted string, e.g. \"1709.01507\"")
    for key in ("url", "code"):
        c.str_(paper, f"paper.{key}", key, required=False, pattern=re.compile(r"^https?://"), what="an http(s) URL")
    c.str_(paper, "paper.doi", "doi", required=False)
    if "arxiv" not in paper and "url" not in paper:
        raise SchemaError(f"{where}: paper: expected an 'arxiv' id or a 'url' to the paper")

    c.str_(data, "impl", "impl", pattern=PY_NAME_RE, what="the name of an object in the implementation file")
    io = c.str_(data, "io", "io", what=f"one of {', '.join(IO_CONTRACTS)}")
    if io not in IO_CONTRACTS:
        c.fail("io", f"a known io contract ({', '.join(IO_CONTRACTS)})", io)

    data["defaults"] = c.mapping(data, "defaults", "defaults")
    variants = c.mapping(data, "variants", "variants")
    for name, config in variants.items():
        if not ID_RE.match(name):
            c.fail(f"variants.{name}", "a variant name of lowercase letters, digits and '_'", name)
        if config is None:
            variants[name] = {}
        elif not isinstance(config, dict):
            c.fail(f"variants.{name}", "a mapping of constructor arguments", config)
    data["variants"] = variants

    slots = c.mapping(data, "slots", "slots")
    for slot, kwarg in slots.items():
        if slot != "attention":
            raise SchemaError(f"{where}: slots.{slot}: unknown slot (known: attention)")
        if not isinstance(kwarg, str) or not PY_NAME_RE.match(kwarg):
            c.fail(f"slots.{slot}", "the name of the constructor argument that takes the block factory", kwarg)
    data["slots"] = slots

    preprocess = c.mapping(data, "preprocess", "preprocess", required=io == "classifier")
    if preprocess:
        c.known_keys(preprocess, "preprocess", PREPROCESS_FIELDS)
        for key in ("input_size", "resize"):
            value = preprocess.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                c.fail(f"preprocess.{key}", "a positive integer (pixels)", value)
        if preprocess.get("interpolation") not in INTERPOLATIONS:
            c.fail("preprocess.interpolation", f"one of {', '.join(INTERPOLATIONS)}", preprocess.get("interpolation"))
        for key in ("mean", "std"):
            value = preprocess.get(key)
            if (not isinstance(value, list) or len(value) not in (1, 3)
                    or any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in value)):
                c.fail(f"preprocess.{key}", "a list of 3 numbers (RGB) or 1 (grey), in [0, 1] units", value)
        if isinstance(preprocess.get("mean"), list) and len(preprocess["mean"]) != len(preprocess["std"]):
            c.fail("preprocess.std", "as many numbers as preprocess.mean (one per channel)", preprocess["std"])
    data["preprocess"] = preprocess

    claims = data.get("claims")
    if not isinstance(claims, list) or not claims:
        if "claims" not in data:
            raise SchemaError(f"{where}: claims: required field is missing (expected a list of at least one claim)")
        c.fail("claims", "a list of at least one claim", claims)
    for i, claim in enumerate(claims):
        field = f"claims[{i}]"
        if not isinstance(claim, dict):
            c.fail(field, "a mapping with what, value, unit, at, source", claim)
        c.known_keys(claim, field, CLAIM_FIELDS)
        what = c.str_(claim, f"{field}.what", "what")
        if "value" not in claim:
            raise SchemaError(f"{where}: {field}.value: required field is missing (expected the paper's figure)")
        value = claim["value"]
        if not isinstance(value, (int, float, str, bool, list)):
            c.fail(f"{field}.value", "a number, string, boolean or list", value)
        c.str_(claim, f"{field}.unit", "unit", what="a unit (count, MACs, FLOPs, ...)")
        if "at" not in claim:
            raise SchemaError(f"{where}: {field}.at: required field is missing "
                              "(expected a mapping: variant, input and constructor arguments; {} for defaults)")
        at = c.mapping(claim, f"{field}.at", "at", required=True) if claim["at"] is not None else {}
        claim["at"] = at
        if "input" in at and (not isinstance(at["input"], str) or not SHAPE_RE.match(at["input"])):
            c.fail(f"{field}.at.input", "a shape like 1x3x224x224", at["input"])
        if "variant" in at and at["variant"] not in variants:
            c.fail(f"{field}.at.variant", f"one of this entry's variants ({', '.join(variants) or 'none'})",
                   at["variant"])
        c.str_(claim, f"{field}.source", "source", what="where the paper states it (section, table, equation)")
        tol = claim.get("tolerance", 0.0)
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not 0 <= tol < 1:
            c.fail(f"{field}.tolerance", "a relative tolerance in [0, 1)", tol)
        claim["tolerance"] = float(tol)
        if what in ("macs", "flops") and "input" not in at:
            raise SchemaError(f"{where}: {field}.at.input: required for a {what} claim (the input it is counted at)")
        if what in BUILTIN_CLAIMS:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                c.fail(f"{field}.value", f"a number for a {what} claim", value)
            if io in AUGMENT_CONTRACTS:
                raise SchemaError(f"{where}: {field}.what: {what} claims apply to modules, not to '{io}' entries")
        else:
            c.str_(claim, f"{field}.measure", "measure", pattern=PY_NAME_RE,
                   what=f"the name of a function in the entry's test file that measures '{what}' "
                        f"(built-in claims: {', '.join(BUILTIN_CLAIMS)})")
        c.str_(claim, f"{field}.deviation", "deviation", required=False,
               what="the reason the implementation knowingly differs from this figure")

    bench = c.mapping(data, "bench", "bench", required=True)
    c.known_keys(bench, "bench", BENCH_FIELDS)
    rank = IO_CONTRACTS[io]
    inputs = c.str_list(bench, "bench.inputs", "inputs", required=True, non_empty=True, pattern=SHAPE_RE,
                        what="a list of shapes like 1x64x56x56")
    for shape in inputs:
        if shape.count("x") + 1 != rank:
            c.fail("bench.inputs", f"shapes of rank {rank} for io '{io}'", shape)
    test_input = c.str_(data, "test_input", "test_input", required=False, pattern=SHAPE_RE,
                        what="a small input shape the generic tests run on, e.g. 2x3x64x64")
    if test_input is not None and test_input.count("x") + 1 != rank:
        c.fail("test_input", f"a shape of rank {rank} for io '{io}'", test_input)
    baselines = c.mapping(data, "baselines", "baselines")
    for name, fn in baselines.items():
        if name not in BASELINES:
            raise SchemaError(f"{where}: baselines.{name}: unknown baseline (known: {', '.join(BASELINES)})")
        if not isinstance(fn, str) or not PY_NAME_RE.match(fn):
            c.fail(f"baselines.{name}", "the name of a function in the entry's test file that builds the baseline "
                   "from the entry's own arguments", fn)
    data["baselines"] = baselines
    allowed_modes = MODES if io in MODULE_CONTRACTS else ("infer",)
    modes = c.str_list(bench, "bench.modes", "modes", what=f"a list drawn from {', '.join(allowed_modes)}")
    bench["modes"] = modes or ["infer"]
    for mode in bench["modes"]:
        if mode not in allowed_modes:
            c.fail("bench.modes", f"modes drawn from {', '.join(allowed_modes)} for io '{io}'", mode)
    allowed_dtypes = ("uint8",) if io == "image_augment" else FLOAT_DTYPES
    dtypes = c.str_list(bench, "bench.dtypes", "dtypes", what=f"a list drawn from {', '.join(allowed_dtypes)}")
    bench["dtypes"] = dtypes or [allowed_dtypes[0]]
    for dtype in bench["dtypes"]:
        if dtype not in allowed_dtypes:
            c.fail("bench.dtypes", f"dtypes drawn from {', '.join(allowed_dtypes)} for io '{io}'", dtype)
    return data
