"""`encyclo predict`: preprocessing from entry.yaml, local weights only, weights_only, sha256, clear errors."""

from __future__ import annotations

import hashlib
import json

import cv2
import pytest
import torch

import encyclo
from encyclo.data import sample_path
from encyclo.inference import preprocess, read_image
from encyclo.registry import EncycloError

from helpers import run_cli


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = encyclo.create("resnet18", num_classes=10).eval()
    path = tmp_path_factory.mktemp("w") / "r18.pth"
    torch.save(model.state_dict(), path)
    return model, path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_preprocess_follows_entry_yaml():
    spec = encyclo.entry("resnet50").preprocess
    x = preprocess(encyclo.sample_image("chelsea"), spec)  # 256x385 photo
    assert x.shape == (1, 3, spec["input_size"], spec["input_size"]) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 3  # normalised
    gray = preprocess(torch.full((300, 400, 3), 124, dtype=torch.uint8).numpy(), spec)
    assert torch.allclose(gray[0, 0], torch.full_like(gray[0, 0], (124 / 255 - 0.485) / 0.229), atol=1e-5)


def test_predict_matches_a_manual_forward(weights, tmp_path):
    model, path, digest = weights
    image = tmp_path / "cat.jpg"
    cv2.imwrite(str(image), cv2.imread(str(sample_path("chelsea"))))
    found = encyclo.predict("resnet18", image, weights=path, sha256=digest, topk=3, num_classes=10)
    x = preprocess(read_image(image), encyclo.entry("resnet18").preprocess)
    with torch.inference_mode():
        probs = torch.softmax(model(x), 1)[0]
    assert [p.index for p in found] == probs.topk(3).indices.tolist()
    assert found[0].probability == pytest.approx(float(probs.max()), rel=1e-5)
    assert found == encyclo.predict("resnet18", read_image(image), weights=path, topk=3, num_classes=10)


def test_cli_predict_with_labels_json(weights, tmp_path):
    _, path, digest = weights
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"thing {i}" for i in range(10)))
    # the CLI builds the variant with its defaults (1000 classes): a 10-class checkpoint must be refused
    refused = run_cli("predict", "resnet18", "--image", str(sample_path()), "--weights", str(path))
    assert refused.returncode == 2 and "does not fit ResNet" in refused.stderr and "shape mismatch" in refused.stderr
    full = tmp_path / "full.pth"
    torch.save(encyclo.create("resnet18").state_dict(), full)
    labels.write_text("\n".join(f"thing {i}" for i in range(1000)))
    proc = run_cli("predict", "resnet18", "--image", str(sample_path()), "--weights", str(full),
                   "--labels", str(labels), "--topk", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 2 and rows[0]["label"].startswith("thing ") and rows[0]["probability"] >= rows[1]["probability"]


def test_wrong_sha256_is_refused_before_loading(weights):
    _, path, _ = weights
    with pytest.raises(EncycloError, match="sha256 is .* expected 0000"):
        encyclo.predict("resnet18", sample_path(), weights=path, sha256="0000", num_classes=10)


def test_pickled_code_is_never_run(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must not run",))

    bad = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload()}, bad)
    with pytest.raises(EncycloError, match="not a weights-only checkpoint"):
        encyclo.predict("resnet18", sample_path(), weights=bad)


def test_bad_inputs_are_clear(tmp_path):
    with pytest.raises(EncycloError, match="no such file"):
        encyclo.predict("resnet18", tmp_path / "missing.jpg")
    (tmp_path / "not_image.jpg").write_text("hello")
    with pytest.raises(EncycloError, match="not an image opencv can read"):
        encyclo.predict("resnet18", tmp_path / "not_image.jpg")
    with pytest.raises(EncycloError, match="is not a classifier"):
        encyclo.predict("seblock", sample_path())
    proc = run_cli("predict", "resnet18", "--image", str(tmp_path / "missing.jpg"))
    assert proc.returncode == 2 and "encyclo: error: --image" in proc.stderr and "Traceback" not in proc.stderr


def test_grey_classifiers_get_a_luma_image():
    spec = encyclo.entry("lenet5").preprocess
    x = preprocess(encyclo.sample_image("coffee"), spec)
    assert x.shape == (1, 1, 32, 32)
    found = encyclo.predict("lenet5", sample_path("coffee"), topk=10)
    assert len(found) == 10 and abs(sum(p.probability for p in found) - 1) < 1e-5
