"""Discovery, validation and construction of entries.

An entry is a folder ``<root>/<category>/<id>/`` holding ``entry.yaml`` and ``<id>.py``. Roots are,
in order: the entries shipped with encyclo, the folders in ``ENCYCLO_PATH`` (colon-separated), and the
folders named by the ``encyclo.entries`` entry-point group. Metadata is read with the YAML safe loader
only and never imports torch; implementation files are imported on :func:`get`/:func:`create` only,
each under a unique module name.

A broken folder (bad YAML, schema error, duplicate id) is left out of listings with a one-line
warning that names it and the reason; ``get`` of it raises that reason; every other entry works.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import yaml

from .files import write_atomically
from .schema import AUGMENT_CONTRACTS, CATEGORIES, SchemaError, validate

# The C build of yaml's *safe* loader when present: identical semantics to yaml.safe_load, ~10x faster,
# which keeps `encyclo list` fast. Never the full (unsafe) loader.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PACKAGE_DIR = Path(__file__).resolve().parent
ENTRY_POINT_GROUP = "encyclo.entries"


class EncycloError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits with status 2."""


class UnknownEntryError(EncycloError, KeyError):
    """No entry, alias or variant has this name. The message lists the closest names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BrokenEntryError(EncycloError):
    """The entry exists but its folder is broken; the message names the folder and the reason."""


class BrokenEntryWarning(UserWarning):
    """Emitted once per broken folder when the registry is built."""


def builtin_root() -> Path:
    """The entries shipped with encyclo: inside the installed wheel, or beside the package in a checkout."""
    for candidate in (PACKAGE_DIR / "entries", PACKAGE_DIR.parent / "entries"):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR / "entries"


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_SafeLoader)  # noqa: S506 - safe loader (C build of SafeLoader)


@dataclass(frozen=True)
class Paper:
    title: str
    authors: tuple[str, ...]
    year: int
    venue: str
    arxiv: str | None = None
    url: str | None = None
    code: str | None = None
    doi: str | None = None

    @property
    def link(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else str(self.url)

    @property
    def citation_key(self) -> str:
        surname = self.authors[0].split()[-1].lower()
        first_word = next((w for w in self.title.lower().replace(":", " ").split() if len(w) > 3), "paper")
        return "".join(ch for ch in f"{surname}{self.year}{first_word}" if ch.isalnum())

    @property
    def bibtex(self) -> str:
        kind = "article" if self.venue.lower() in ("arxiv", "jmlr", "tpami", "ijcv") else "inproceedings"
        venue_field = "journal" if kind == "article" else "booktitle"
        lines = [f"@{kind}{{{self.citation_key},", f"  title = {{{self.title}}},",
                 f"  author = {{{' and '.join(self.authors)}}},", f"  {venue_field} = {{{self.venue}}},",
                 f"  year = {{{self.year}}},"]
        if self.arxiv:
            lines.append(f"  eprint = {{{self.arxiv}}},")
            lines.append("  archivePrefix = {arXiv},")
        if self.doi:
            lines.append(f"  doi = {{{self.doi}}},")
        lines.append(f"  url = {{{self.link}}}")
        return "\n".join(lines) + "\n}"


@dataclass(frozen=True)
class Claim:
    """A figure the paper states, where it is stated, and how the code is measured against it."""

    what: str
    value: Any
    unit: str
    at: dict
    source: str
    tolerance: float = 0.0
    measure: str | None = None
    deviation: str | None = None

    @property
    def variant(self) -> str | None:
        return self.at.get("variant")

    @property
    def input(self) -> str | None:
        return self.at.get("input")

    @property
    def kwargs(self) -> dict:
        """Constructor overrides at which the claim holds (``at`` less ``variant`` and ``input``)."""
        return {k: v for k, v in self.at.items() if k not in ("variant", "input")}

    def holds(self, measured: Any) -> bool:
        """Whether a measured figure reproduces the claim (relative tolerance for numbers)."""
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            return measured == self.value
        if not isinstance(measured, (int, float)) or isinstance(measured, bool):
            return False
        return abs(measured - self.value) <= self.tolerance * abs(self.value)


@dataclass(frozen=True)
class BenchSpec:
    inputs: tuple[str, ...]
    modes: tuple[str, ...]
    dtypes: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One technique's metadata, exactly as entry.yaml states it (validated)."""

    id: str
    name: str
    category: str
    kind: str
    summary: str
    aliases: tuple[str, ...]
    tags: tuple[str, ...]
    paper: Paper
    impl: str
    io: str
    defaults: dict
    variants: dict
    slots: dict
    preprocess: dict
    claims: tuple[Claim, ...]
    bench: BenchSpec
    related: tuple[str, ...]
    folder: Path = field(compare=False)
    test_input: str | None = None  # a small input for the generic tests (default: the smallest bench input)
    baselines: dict = field(default_factory=dict)  # "torch"/"numpy" -> test-file function building that baseline

    @classmethod
    def from_dict(cls, data: dict, folder: Path) -> "Entry":
        paper = data["paper"]
        return cls(
            id=data["id"], name=data["name"], category=data["category"], kind=data["kind"],
            summary=data["summary"], aliases=tuple(data["aliases"]), tags=tuple(data["tags"]),
            paper=Paper(title=paper["title"], authors=tuple(paper["authors"]), year=paper["year"],
                        venue=paper["venue"], arxiv=paper.get("arxiv"), url=paper.get("url"),
                        code=paper.get("code"), doi=paper.get("doi")),
            impl=data["impl"], io=data["io"], defaults=dict(data["defaults"]), variants=dict(data["variants"]),
            slots=dict(data["slots"]), preprocess=dict(data["preprocess"]),
            claims=tuple(Claim(**c) for c in data["claims"]),
            bench=BenchSpec(tuple(data["bench"]["inputs"]), tuple(data["bench"]["modes"]),
                            tuple(data["bench"]["dtypes"])),
            related=tuple(data["related"]), folder=folder, test_input=data.get("test_input"),
            baselines=dict(data["baselines"]),
        )

    @property
    def impl_file(self) -> Path:
        return self.folder / f"{self.id}.py"

    @property
    def yaml_file(self) -> Path:
        return self.folder / "entry.yaml"

    @property
    def readme_file(self) -> Path:
        return self.folder / "README.md"

    @property
    def example_file(self) -> Path:
        return self.folder / "example.py"

    @property
    def test_file(self) -> Path:
        return self.folder / f"test_{self.id}.py"

    @property
    def default_name(self) -> str:
        """The name that builds the entry's defaults: the variant whose arguments equal them, else the id."""
        return next((v for v, cfg in self.variants.items() if cfg == self.defaults), self.id)

    @property
    def is_module(self) -> bool:
        """True for nn.Module entries (attention, norms, architectures); False for augmentations."""
        return self.io not in AUGMENT_CONTRACTS

    @cached_property
    def code_hash(self) -> str:
        """sha256 (12 hex) of the implementation and its entry.yaml: results measured on other code are stale."""
        digest = hashlib.sha256()
        for path in (self.impl_file, self.yaml_file):
            digest.update(path.read_bytes() if path.exists() else b"")
        return digest.hexdigest()[:12]

    def names(self) -> list[str]:
        return [self.id, *self.aliases, *self.variants]


class BlockFactory:
    """``channels -> nn.Module`` for an architecture's attention slot, built from a registry name.

    Picklable and printable (``seblock``), unlike a lambda.
    """

    def __init__(self, name: str, registry: "Registry", **kwargs: Any):
        self.name, self.kwargs, self._registry = name, kwargs, registry

    def __call__(self, channels: int) -> Any:
        return self._registry.create(self.name, channels=channels, **self.kwargs)

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return (_default_factory, (self.name, self.kwargs))


def _default_factory(name: str, kwargs: dict) -> BlockFactory:
    return BlockFactory(name, registry(), **kwargs)


class MetadataCache:
    """Validated entry.yaml contents, keyed by path and (mtime, size), kept as JSON between runs.

    YAML construction costs ~1-5 ms a file (even with the C parser), which would make `encyclo list`
    slow once there are a hundred entries; JSON of the already validated data loads in microseconds.
    A changed file (or a changed schema.py) is parsed and validated again. ENCYCLO_NO_CACHE=1 turns
    it off; ENCYCLO_CACHE_DIR moves it (default ~/.cache/encyclo). Broken files are never cached.
    """

    def __init__(self) -> None:
        self.enabled = os.environ.get("ENCYCLO_NO_CACHE", "") in ("", "0")
        folder = Path(os.environ.get("ENCYCLO_CACHE_DIR") or Path.home() / ".cache" / "encyclo")
        schema = Path(__file__).with_name("schema.py").stat()
        self.path = folder / "entries-v1.json"
        self.version = f"{schema.st_mtime_ns}-{schema.st_size}"
        self.items: dict[str, dict] = {}
        self.dirty = False
        if self.enabled:
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
                if stored.get("version") == self.version:
                    self.items = stored["items"]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self.items = {}  # missing or unreadable: rebuilt

    @staticmethod
    def signature(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_mtime_ns, st.st_size]

    def get(self, path: Path) -> dict | None:
        item = self.items.get(str(path)) if self.enabled else None
        if item is not None and item.get("sig") == self.signature(path):
            return item["data"]
        return None

    def put(self, path: Path, data: dict) -> None:
        if not self.enabled:
            return
        try:
            json.dumps(data)  # only plain JSON round-trips unchanged (a YAML date would not)
        except (TypeError, ValueError):
            return
        self.items[str(path)] = {"sig": self.signature(path), "data": data}
        self.dirty = True

    def save(self) -> None:
        if not (self.enabled and self.dirty):
            return
        try:
            write_atomically(self.path, json.dumps({"version": self.version, "items": self.items}))
        except OSError:
            pass  # a read-only home only costs speed


class Registry:
    """All entries found under a list of roots."""

    def __init__(self, roots: Iterable[Path] | None = None, *, warn: bool = True):
        self.roots: list[Path] = list(roots) if roots is not None else default_roots()
        self._cache = MetadataCache()
        self._entries: dict[str, Entry] = {}
        self._names: dict[str, tuple[str, str | None]] = {}  # name -> (entry id, variant)
        self.broken: dict[str, str] = {}  # folder name (== intended id) -> reason
        self._modules: dict[str, ModuleType] = {}
        for root in self.roots:
            self._scan(root)
        self._cache.save()
        if warn:
            for reason in self.broken.values():
                warnings.warn(reason, BrokenEntryWarning, stacklevel=3)

    # ---- discovery -------------------------------------------------------------------------------
    def _scan(self, root: Path) -> None:
        if not root.is_dir():
            self.broken[str(root)] = f"entry root {root} is not a folder; ignored"
            return
        for category_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] not in "._"):
            if category_dir.name not in CATEGORIES:
                if any((d / "entry.yaml").exists() for d in category_dir.iterdir() if d.is_dir()):
                    self.broken[str(category_dir)] = (f"{category_dir}: unknown category folder "
                                                      f"(expected one of {', '.join(CATEGORIES)})")
                continue
            for folder in sorted(p for p in category_dir.iterdir() if p.is_dir() and p.name[0] not in "._"):
                self._add(folder)

    def _add(self, folder: Path) -> None:
        yaml_path = folder / "entry.yaml"
        label = _display(yaml_path)
        if not yaml_path.exists():
            self.broken[folder.name] = f"{_display(folder)}: no entry.yaml in this entry folder"
            return
        data = self._cache.get(yaml_path)
        if data is None:
            try:
                data = load_yaml(yaml_path)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                self.broken[folder.name] = f"{label}: invalid YAML{where}: {problem}"
                return
            try:
                data = validate(data, where=label, folder_id=folder.name, folder_category=folder.parent.name)
            except SchemaError as exc:
                self.broken[folder.name] = str(exc)
                return
            self._cache.put(yaml_path, data)
        entry = Entry.from_dict(data, folder)
        if not entry.impl_file.exists():
            self.broken[entry.id] = f"{label}: implementation file {entry.impl_file.name} is missing"
            return
        registered: list[str] = []
        # a duplicate is keyed by its folder when its id itself is taken, so the first stays reachable
        broken_key = str(folder) if entry.id in self._names else entry.id
        for name, variant in [(entry.id, None)] + [(a, None) for a in entry.aliases] + \
                             [(v, v) for v in entry.variants]:
            if name in self._names or name in self.broken:
                owner = self._names.get(name, (name,))[0]
                where = _display(self._entries[owner].yaml_file) if owner in self._entries else owner
                self.broken[broken_key] = f"{label}: name '{name}' is already taken by {where}"
                for taken in registered:  # roll back what this entry registered
                    del self._names[taken]
                return
            self._names[name] = (entry.id, variant)
            registered.append(name)
        self._entries[entry.id] = entry

    # ---- lookup ----------------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[Entry, str | None]:
        """An id, alias or variant name -> (entry, variant or None)."""
        if name in self._names:
            entry_id, variant = self._names[name]
            return self._entries[entry_id], variant
        if name in self.broken:
            raise BrokenEntryError(self.broken[name])
        close = difflib.get_close_matches(name, list(self._names), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
            "; `encyclo list` shows the known ids"
        raise UnknownEntryError(f"unknown entry '{name}'{hint}")

    def entry(self, name: str) -> Entry:
        return self.resolve(name)[0]

    def entries(self, category: str | None = None, pattern: str | None = None,
                tag: str | None = None) -> list[Entry]:
        if category is not None and category not in CATEGORIES:
            close = difflib.get_close_matches(category, CATEGORIES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise EncycloError(f"unknown category '{category}' (known: {', '.join(CATEGORIES)}){hint}")
        found = []
        for entry in self._entries.values():
            if category and entry.category != category:
                continue
            if tag and tag not in entry.tags:
                continue
            if pattern and not any(fnmatch.fnmatchcase(n, pattern) for n in entry.names()):
                continue
            found.append(entry)
        return sorted(found, key=lambda e: (CATEGORIES.index(e.category), e.id))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    # ---- code ------------------------------------------------------------------------------------
    def module(self, name: str) -> ModuleType:
        """Import an entry's implementation file (once) under the unique name ``encyclo_entry_<id>``."""
        entry = self.entry(name)
        if entry.id in self._modules:
            return self._modules[entry.id]
        module_name = f"encyclo_entry_{entry.id}"
        spec = importlib.util.spec_from_file_location(module_name, entry.impl_file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses, pickling and torch.compile look modules up here
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise BrokenEntryError(f"{_display(entry.impl_file)} failed to import: "
                                   f"{type(exc).__name__}: {exc}") from exc
        if not hasattr(module, entry.impl):
            del sys.modules[module_name]
            raise BrokenEntryError(f"{_display(entry.yaml_file)}: impl: '{entry.impl}' is not defined in "
                                   f"{entry.impl_file.name}")
        self._modules[entry.id] = module
        return module

    def get(self, name: str) -> Any:
        entry = self.entry(name)
        return getattr(self.module(entry.id), entry.impl)

    def config(self, name: str, **overrides: Any) -> dict:
        """The constructor arguments ``create(name, **overrides)`` would use, before slot resolution."""
        if "+" in name:  # composition: "resnet50+seblock" == create("resnet50", attention="seblock")
            base, block = name.split("+", 1)
            return self.config(base, attention=block, **overrides)
        entry, variant = self.resolve(name)
        return {**entry.defaults, **(entry.variants[variant] if variant else {}), **overrides}

    def create(self, name: str, **overrides: Any) -> Any:
        """Build an entry with its defaults, the variant's configuration and ``overrides``.

        ``attention="cbam"`` (or ``"resnet50+cbam"``) fills the architecture's attention slot with the
        factory ``channels -> create("cbam", channels=channels)``. For augmentation functions the result
        is the function with the configured keyword arguments bound (``functools.partial``).
        """
        base = name.split("+", 1)[0]
        entry = self.entry(base)
        kwargs = self.config(name, **overrides)
        if "attention" in kwargs and "attention" not in _parameters(self.get(entry.id)):
            block = kwargs.pop("attention")
            if "attention" not in entry.slots:
                raise EncycloError(f"'{entry.id}' has no attention slot (entries with one: "
                                   f"{', '.join(e.id for e in self.entries() if 'attention' in e.slots) or 'none'})")
            if isinstance(block, str):
                block_entry = self.entry(block)
                if block_entry.io != "feature_map":
                    raise EncycloError(f"'{block}' cannot fill an attention slot: its io is '{block_entry.io}', "
                                       "the slot takes feature_map blocks")
                block = BlockFactory(block, self)
            kwargs[entry.slots["attention"]] = block
        obj = self.get(entry.id)
        if entry.io in AUGMENT_CONTRACTS and not isinstance(obj, type):
            return functools.partial(obj, **kwargs) if kwargs else obj
        return obj(**kwargs)


def _parameters(obj: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()


def _display(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def default_roots() -> list[Path]:
    roots = [builtin_root()]
    for part in os.environ.get("ENCYCLO_PATH", "").split(os.pathsep):
        if part.strip():
            roots.append(Path(part).expanduser())
    roots.extend(_entry_point_roots())
    return roots


def _entry_point_values() -> list[tuple[str, str]]:
    """(name, value) of every ``encyclo.entries`` entry point of the installed distributions.

    Reads ``*.dist-info/entry_points.txt`` directly: importlib.metadata would cost ~30 ms of imports on
    every `encyclo list`, a fifth of its budget.
    """
    import configparser

    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for base in sys.path:
        folder = Path(base or ".")
        if not folder.is_dir():
            continue
        for path in list(folder.glob("*.dist-info/entry_points.txt")) + list(folder.glob("*.egg-info/entry_points.txt")):
            dist = path.parent.name.split("-")[0].lower()
            if dist in seen:  # the first on sys.path wins, as importlib.metadata does
                continue
            seen.add(dist)
            text = path.read_text(encoding="utf-8", errors="replace")
            if ENTRY_POINT_GROUP not in text:
                continue
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # keep case
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            if parser.has_section(ENTRY_POINT_GROUP):
                found.extend((name, value.strip()) for name, value in parser.items(ENTRY_POINT_GROUP))
    return found


def _entry_point_roots() -> list[Path]:
    roots = []
    for name, value in _entry_point_values():
        try:
            module_name, _, attr = value.partition(":")
            target: Any = importlib.import_module(module_name.strip())
            for part in filter(None, attr.strip().split(".")):
                target = getattr(target, part)
            if isinstance(target, ModuleType):
                roots.append(Path(target.__file__).resolve().parent)
            else:
                roots.append(Path(target() if callable(target) else target))
        except Exception as exc:  # a broken plug-in must not take the registry down
            warnings.warn(f"entry point '{name}' ({value}) in group {ENTRY_POINT_GROUP} failed: "
                          f"{type(exc).__name__}: {exc}", BrokenEntryWarning, stacklevel=2)
    return roots


_default: Registry | None = None


def registry() -> Registry:
    """The process-wide registry (built on first use)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reload() -> Registry:
    """Rebuild the process-wide registry (after ENCYCLO_PATH or the entries changed)."""
    global _default
    _default = None
    return registry()


def get(name: str) -> Any:
    """The implementation object of an entry (a class or function), e.g. ``get("mixup")``."""
    return registry().get(name)


def create(name: str, **overrides: Any) -> Any:
    """Build an entry or variant with its defaults plus ``overrides``; see :meth:`Registry.create`."""
    return registry().create(name, **overrides)


def module(name: str) -> ModuleType:
    """An entry's implementation module, for its other public helpers (e.g. ``sample_mixup_params``)."""
    return registry().module(name)


def entry(name: str) -> Entry:
    """An entry's metadata (no torch import): ``entry("cbam").paper.arxiv``."""
    return registry().entry(name)


def entries(category: str | None = None, pattern: str | None = None, tag: str | None = None) -> list[Entry]:
    """Entries filtered by category, fnmatch pattern over ids/aliases/variants, and tag."""
    return registry().entries(category=category, pattern=pattern, tag=tag)
