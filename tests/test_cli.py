"""The CLI: list, show, check, new; one-line errors with exit 2; no torch import for list/show/check."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import REPO, fill_todos, make_entry, run_cli


def test_list_table_and_json():
    table = run_cli("list")
    assert table.returncode == 0, table.stderr
    assert "seblock" in table.stdout and "resnet" in table.stdout
    rows = json.loads(run_cli("list", "--format", "json").stdout)
    assert {"id", "category", "kind", "year", "name", "variants"} <= set(rows[0])
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))


def test_list_filters():
    rows = json.loads(run_cli("list", "resnet5*", "--format", "json").stdout)
    assert [r["id"] for r in rows] == ["resnet"]
    rows = json.loads(run_cli("list", "--category", "augmentation", "--format", "json").stdout)
    assert rows and {r["category"] for r in rows} == {"augmentation"}


@pytest.mark.parametrize("argv", [["list"], ["show", "cbam"], ["show", "resnet50", "--format", "json"],
                                  ["check", "--no-import"]])
def test_metadata_verbs_never_import_torch(argv):
    code = ("import sys\nfrom encyclo.cli import main\nrc = main(%r)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(rc)" % (argv,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_show_prints_card_claims_and_bench():
    out = run_cli("show", "seblock").stdout
    for needle in ("Squeeze-and-Excitation Networks", "Jie Hu", "arxiv.org/abs/1709.01507", "claims",
                   "params = 580", "bench", "1x64x56x56"):
        assert needle in out
    card = json.loads(run_cli("show", "resnet50", "--format", "json").stdout)
    assert card["variant"] == "resnet50" and card["variants"]["resnet50"]
    assert card["paper"]["bibtex"].startswith("@inproceedings{he2016")


def test_check_passes_on_the_repo():
    proc = run_cli("check")
    assert proc.returncode == 0, proc.stderr
    assert "entries OK" in proc.stdout


@pytest.mark.parametrize("argv,message", [
    (["show", "seblok"], "unknown entry 'seblok'; did you mean 'seblock'"),
    (["compare", "seblock", "--input", "1x64x"], "--input '1x64x': expected dimensions"),
    (["compare", "seblock", "--input", "0x3x3x3"], "every dimension must be at least 1"),
    (["compare", "seblock", "--input", "1x8x8x8", "--dtype", "float8"], "--dtype 'float8'"),
    (["compare", "seblock", "--input", "1x8x8x8", "--mode", "sideways"], "--mode 'sideways'"),
    (["compare", "seblock", "--input", "1x8x8"], "takes a rank-4 input NxCxHxW"),
    (["compare", "mixup", "--input", "2x3x8x8", "--mode", "train"], "has no train mode"),
    (["summary", "nosuch", "--input", "1x3x8x8"], "unknown entry 'nosuch'"),
    (["new", "widgets/x"], "unknown category 'widgets'"),
    (["new", "attention/Bad-Id"], "invalid id 'Bad-Id'"),
    (["new", "attention/seblock"], "already exists; refusing to overwrite"),
    (["bench"], "name entries to benchmark"),
    (["list", "--category", "nope"], None),  # argparse's own usage error, also exit 2
])
def test_user_errors_are_one_line_exit_2(argv, message):
    proc = run_cli(*argv)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    if message is not None:
        lines = [l for l in proc.stderr.splitlines() if l.startswith("encyclo: error:")]
        assert len(lines) == 1 and message in lines[0], proc.stderr


def test_cuda_without_gpu_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    proc = run_cli("compare", "seblock", "--input", "1x8x8x8", "--device", "cuda")
    assert proc.returncode == 2 and "no CUDA device is available here" in proc.stderr


def test_new_scaffolds_five_files_that_pass_check_once_filled(tmp_path):
    root = tmp_path / "pack"
    proc = run_cli("new", "attention/my_gate", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    folder = root / "attention" / "my_gate"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "entry.yaml", "example.py", "my_gate.py",
                                                        "test_my_gate.py"]
    env = {"ENCYCLO_PATH": str(root)}
    unfilled = run_cli("check", "my_gate", env=env)
    assert unfilled.returncode == 1 and "still contains TODO placeholders" in unfilled.stderr
    fill_todos(folder)
    filled = run_cli("check", "my_gate", env=env)
    assert filled.returncode == 0, filled.stderr
    again = run_cli("new", "attention/my_gate", "--root", str(root))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


@pytest.mark.parametrize("spec", ["augmentation/my_aug", "architectures/my_net", "normalization/my_norm"])
def test_scaffolds_of_every_category_check_clean(tmp_path, spec):
    make_entry(tmp_path, spec)
    proc = run_cli("check", spec.split("/")[1], env={"ENCYCLO_PATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr


def test_check_names_each_broken_entry_and_exits_nonzero(tmp_path):
    make_entry(tmp_path, "attention/fine_block")
    bad = make_entry(tmp_path, "attention/bad_import")
    (bad / "bad_import.py").write_text("import scipy\n")
    proc = run_cli("check", env={"ENCYCLO_PATH": str(tmp_path)})
    assert proc.returncode == 1
    assert "bad_import.py: imports scipy" in proc.stderr
    assert "fine_block" not in proc.stderr


def test_broken_entry_warns_in_one_line_while_list_works(tmp_path):
    folder = make_entry(tmp_path, "attention/broken_one")
    (folder / "entry.yaml").write_text("id: broken_one\n")
    proc = run_cli("list", env={"ENCYCLO_PATH": str(tmp_path)})
    assert proc.returncode == 0
    warning = [l for l in proc.stderr.splitlines() if "broken_one" in l]
    assert len(warning) == 1 and warning[0].startswith("encyclo: warning:") and "name: required field" in warning[0]
    assert "seblock" in proc.stdout


def test_help_lists_every_verb():
    out = run_cli("--help").stdout
    for verb in ("list", "show", "check", "new", "compare", "summary", "bench"):
        assert verb in out


def test_python_dash_m_and_console_script_agree():
    import shutil

    script = shutil.which("encyclo") or str(REPO / ".venv" / "bin" / "encyclo")
    a = subprocess.run([script, "list", "--format", "json"], capture_output=True, text=True, timeout=60)
    b = run_cli("list", "--format", "json")
    assert a.returncode == 0 and json.loads(a.stdout) == json.loads(b.stdout)


def test_show_and_check_measure_claims_on_request():
    shown = run_cli("show", "eca", "--claims", "--format", "json")
    claims = json.loads(shown.stdout)["claims"]
    assert all("measured" in c for c in claims)
    assert any(c["deviation"] and not c["reproduced"] for c in claims)  # a named deviation, reported
    checked = run_cli("check", "seblock", "eca", "--claims")
    assert checked.returncode == 0 and "claims reproduced" in checked.stdout, checked.stderr


def test_check_claims_fails_on_a_wrong_figure(tmp_path):
    folder = make_entry(tmp_path, "attention/wrong_claim")  # scaffold claims 0 params; make it say 7
    text = (folder / "entry.yaml").read_text().replace("value: 0", "value: 7")
    (folder / "entry.yaml").write_text(text)
    proc = run_cli("check", "wrong_claim", "--claims", env={"ENCYCLO_PATH": str(tmp_path)})
    assert proc.returncode == 1 and "claim params = 7 count: NOT reproduced: measured 0" in proc.stderr
