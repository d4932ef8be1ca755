"""Discovery, validation and construction, including every error path of a broken entry folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import encyclo
from encyclo.registry import (BrokenEntryError, BrokenEntryWarning, EncycloError, Registry, UnknownEntryError,
                              builtin_root)
from encyclo.schema import CATEGORIES

from helpers import REPO, make_entry


def test_builtin_entries_are_all_valid():
    reg = Registry([builtin_root()])
    assert not reg.broken, reg.broken
    assert {e.category for e in reg.entries()} == set(CATEGORIES)


def test_ids_aliases_and_variants_resolve():
    assert encyclo.entry("se").id == "seblock"
    entry, variant = encyclo.registry.registry().resolve("resnet50")
    assert (entry.id, variant) == ("resnet", "resnet50")
    assert encyclo.entry("cbam").paper.arxiv == "1807.06521"


def test_unknown_id_is_a_keyerror_with_suggestions():
    with pytest.raises(UnknownEntryError) as info:
        encyclo.get("seblok")
    assert isinstance(info.value, KeyError)
    assert "did you mean 'seblock'" in str(info.value)


def test_entries_filters():
    assert {e.category for e in encyclo.entries(category="attention")} == {"attention"}
    assert [e.id for e in encyclo.entries(pattern="resnet5*")] == ["resnet"]
    assert {"preact_resnet", "resnet", "wide_resnet"} <= {e.id for e in encyclo.entries(pattern="*resnet5*")}
    assert all("drop-in" in e.tags for e in encyclo.entries(tag="drop-in"))
    with pytest.raises(EncycloError, match="unknown category 'atention'.*did you mean 'attention'"):
        encyclo.entries(category="atention")


def test_create_applies_defaults_variant_and_overrides():
    se = encyclo.create("seblock", channels=64)
    assert se.fc1.out_features == 64 // 16
    assert encyclo.create("seblock", channels=64, reduction=4).fc1.out_features == 16
    r18 = encyclo.create("resnet18", num_classes=7)
    assert r18.fc.out_features == 7


def test_attention_slot_composition():
    import torch

    plain = encyclo.create("resnet18")
    with_cbam = encyclo.create("resnet18", attention="cbam")
    same = encyclo.create("resnet18+cbam")
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(with_cbam) > count(plain)
    assert count(with_cbam) == count(same)
    with pytest.raises(EncycloError, match="has no attention slot"):
        encyclo.create("seblock", channels=8, attention="cbam")
    with pytest.raises(EncycloError, match="cannot fill an attention slot"):
        encyclo.create("resnet18", attention="mixup")
    out = with_cbam.eval()(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 1000)


def test_listing_never_imports_entry_code():
    reg = Registry([builtin_root()])
    reg.entries()
    reg.entry("seblock").paper.bibtex
    assert reg._modules == {}  # nothing imported until get/create


def test_augmentation_create_binds_keywords():
    mixup = encyclo.create("mixup", alpha=0.2)
    assert mixup.keywords["alpha"] == 0.2
    assert encyclo.get("mixup").__name__ == "mixup"


# ---- broken entry folders: named, with the reason, the others keep working ---------------------------
def _broken(entry_root: Path, quiet_registry, mutate) -> tuple[Registry, Path]:
    good = make_entry(entry_root, "attention/good_block")
    bad = make_entry(entry_root, "attention/bad_block")
    mutate(bad)
    reg = quiet_registry(entry_root)
    assert "good_block" in reg and reg.entry("good_block").id == "good_block"
    assert good.exists()
    return reg, bad


def _edit_yaml(folder: Path, old: str, new: str) -> None:
    path = folder / "entry.yaml"
    text = path.read_text()
    assert old in text, (old, text)
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old,new,message", [
    ("name: filled full name\n", "", "name: required field is missing"),
    ("year: 2000", "year: twenty", "paper.year: expected an integer year, got str 'twenty'"),
    ("io: feature_map", "io: pixels", "io: expected a known io contract"),
    ("id: bad_block", "id: other", "id: expected 'bad_block' (the folder's name), got 'other'"),
    ("category: attention", "category: normalization", "category: expected 'attention' (the parent folder)"),
    ("unit: count", "unit: count\n    bogus: 1", "claims[0].bogus: unknown field"),
    ("source: filled", "sauce: filled", "claims[0].sauce: unknown field"),
    ('arxiv: "0000.00000"', "arxiv: 1709.01507", "paper.arxiv: expected an arXiv id as a quoted string"),
    ('inputs: ["1x64x56x56", "32x64x56x56"]', 'inputs: ["1x64x56"]', "bench.inputs: expected shapes of rank 4"),
    ("aliases: []", "aliases: oops", "aliases: expected a list of ids"),
])
def test_schema_errors_name_file_field_and_expectation(entry_root, quiet_registry, old, new, message):
    reg, bad = _broken(entry_root, quiet_registry, lambda f: _edit_yaml(f, old, new))
    reason = reg.broken["bad_block"]
    assert "entry.yaml" in reason and message in reason, reason
    assert "bad_block" not in [e.id for e in reg.entries()]
    with pytest.raises(BrokenEntryError, match="entry.yaml"):
        reg.get("bad_block")


def test_malformed_yaml(entry_root, quiet_registry):
    reg, _ = _broken(entry_root, quiet_registry, lambda f: (f / "entry.yaml").write_text("id: [unclosed\nname: x\n"))
    assert "invalid YAML (line" in reg.broken["bad_block"]


def test_yaml_is_loaded_safely(entry_root, quiet_registry):
    payload = "!!python/object/apply:os.system ['echo pwned']\n"
    reg, _ = _broken(entry_root, quiet_registry, lambda f: (f / "entry.yaml").write_text(payload))
    assert "invalid YAML" in reg.broken["bad_block"]


def test_duplicate_ids_and_aliases(entry_root, quiet_registry):
    make_entry(entry_root, "attention/first_block")
    second = make_entry(entry_root, "normalization/second_block")
    _edit_yaml(second, "aliases: []", "aliases: [first_block]")
    reg = quiet_registry(entry_root)
    assert "name 'first_block' is already taken by" in reg.broken["second_block"]
    assert "second_block" not in reg and "first_block" in reg


def test_duplicate_id_across_roots(entry_root, quiet_registry, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    make_entry(entry_root, "attention/twin")
    make_entry(other, "attention/twin")
    reg = quiet_registry(entry_root, other)
    assert any("name 'twin' is already taken" in r for r in reg.broken.values())
    assert reg.entry("twin").folder.parent.parent == entry_root  # the first root wins


def test_implementation_that_fails_to_import(entry_root, quiet_registry):
    make_entry(entry_root, "attention/fails")
    impl = entry_root / "attention/fails/fails.py"
    impl.write_text("import torch\nraise RuntimeError('boom at import')\n")
    reg = quiet_registry(entry_root)
    assert "fails" in reg  # metadata is fine: listed
    with pytest.raises(BrokenEntryError, match=r"fails\.py failed to import: RuntimeError: boom at import"):
        reg.get("fails")


def test_missing_impl_object(entry_root, quiet_registry):
    folder = make_entry(entry_root, "attention/no_object")
    _edit_yaml(folder, "impl: NoObject", "impl: Missing")
    reg = quiet_registry(entry_root)
    with pytest.raises(BrokenEntryError, match="impl: 'Missing' is not defined in no_object.py"):
        reg.get("no_object")


def test_missing_implementation_file(entry_root, quiet_registry):
    reg, _ = _broken(entry_root, quiet_registry, lambda f: (f / "bad_block.py").unlink())
    assert "implementation file bad_block.py is missing" in reg.broken["bad_block"]


def test_broken_entries_warn_once_each(entry_root):
    make_entry(entry_root, "attention/ok_one")
    (entry_root / "attention" / "empty_folder").mkdir()
    with pytest.warns(BrokenEntryWarning, match="empty_folder: no entry.yaml"):
        reg = Registry([entry_root])
    assert "ok_one" in reg


def test_unknown_category_folder(entry_root, quiet_registry):
    make_entry(entry_root, "attention/fine")
    folder = entry_root / "widgets" / "thing"
    folder.mkdir(parents=True)
    (folder / "entry.yaml").write_text("id: thing\n")
    reg = quiet_registry(entry_root)
    assert any("unknown category folder" in r for r in reg.broken.values())
    assert "fine" in reg


# ---- extra roots ---------------------------------------------------------------------------------
def _python(code: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=120)


def test_encyclo_path_adds_roots(entry_root, tmp_path):
    make_entry(entry_root, "attention/lab_block")
    proc = _python("""
        import encyclo
        print(encyclo.entry('lab_block').folder)
        print(type(encyclo.create('lab_block', channels=4)).__name__)
    """, {"ENCYCLO_PATH": f"{entry_root}{os.pathsep}{tmp_path / 'missing'}"}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lab_block" in proc.stdout and "LabBlock" in proc.stdout
    assert "is not a folder; ignored" in proc.stderr  # a bad ENCYCLO_PATH part is named, the rest works


def test_entry_point_group_adds_roots(tmp_path):
    site = tmp_path / "site"
    package = site / "mylab_entries"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    make_entry(package, "normalization/lab_norm")
    dist = site / "mylab_entries-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab-entries\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[encyclo.entries]\nmylab = mylab_entries\n")
    proc = _python("import encyclo; print(encyclo.entry('lab_norm').category)",
                   {"PYTHONPATH": str(site)}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "normalization"


def test_entry_modules_import_under_unique_names():
    module = encyclo.registry.registry().module("seblock")
    assert module.__name__ == "encyclo_entry_seblock"
    assert sys.modules["encyclo_entry_seblock"] is module


def test_repo_layout():
    for category in CATEGORIES:
        assert (REPO / "entries" / category).is_dir()


def test_metadata_cache_is_invisible(entry_root, quiet_registry, monkeypatch, tmp_path):
    monkeypatch.setenv("ENCYCLO_CACHE_DIR", str(tmp_path / "cache"))
    folder = make_entry(entry_root, "attention/cached_block")
    first = quiet_registry(entry_root).entry("cached_block")
    assert (tmp_path / "cache" / "entries-v1.json").exists()
    assert quiet_registry(entry_root).entry("cached_block") == first  # served from the cache
    _edit_yaml(folder, "name: filled full name", "name: A renamed block, longer")
    assert quiet_registry(entry_root).entry("cached_block").name == "A renamed block, longer"
    _edit_yaml(folder, "io: feature_map", "io: pixels")  # a broken edit is seen, never served stale
    assert "io: expected a known io contract" in quiet_registry(entry_root).broken["cached_block"]
    (tmp_path / "cache" / "entries-v1.json").write_text("{not json")  # a corrupt cache is rebuilt
    _edit_yaml(folder, "io: pixels", "io: feature_map")
    assert quiet_registry(entry_root).entry("cached_block").io == "feature_map"


def test_cached_and_uncached_registries_agree(monkeypatch):
    cached = {e.id: e for e in Registry([builtin_root()]).entries()}
    monkeypatch.setenv("ENCYCLO_NO_CACHE", "1")
    fresh = {e.id: e for e in Registry([builtin_root()]).entries()}
    assert cached == fresh
