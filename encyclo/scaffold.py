"""``encyclo new CATEGORY/ID``: a new entry folder with all five files, ready to fill in.

The files are valid and runnable as written (the implementation is a working identity of the right
io contract); ``encyclo check`` fails only on the TODO placeholders until they are replaced.
"""

from __future__ import annotations

from pathlib import Path

from .registry import EncycloError
from .schema import CATEGORIES, ID_RE

DEFAULT_IO = {"attention": "feature_map", "normalization": "feature_map", "augmentation": "image_augment",
              "architectures": "classifier"}

_BENCH = {
    "feature_map": 'inputs: ["1x64x56x56", "32x64x56x56"]\n  modes: [infer, train]\n  dtypes: [float32, bfloat16]',
    "image_augment": 'inputs: ["224x224x3"]\n  modes: [infer]\n  dtypes: [uint8]',
    "classifier": 'inputs: ["1x3x224x224"]\n  modes: [infer, train]\n  dtypes: [float32, bfloat16]',
}

_IMPL = {
    "feature_map": '''"""TODO: the technique in one line (paper title, arXiv id)."""

import torch
from torch import nn


class {cls}(nn.Module):
    """TODO: one paragraph, citing the paper's section/equation.

    Args:
        channels: number of input channels C.

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x  # TODO: the paper's equations
''',
    "image_augment": '''"""TODO: the technique in one line (paper title, arXiv id)."""

import numpy as np


def {func}(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """TODO: one paragraph, citing the paper's section.

    Args:
        image: (H, W, C) uint8 array.
        rng: the explicit random generator.

    Returns:
        The augmented (H, W, C) uint8 array.
    """
    return image.copy()  # TODO: sample parameters with rng, then apply them
''',
    "classifier": '''"""TODO: the architecture in one line (paper title, arXiv id)."""

import torch
from torch import nn


class {cls}(nn.Module):
    """TODO: one paragraph, citing the paper's section/table.

    Args:
        num_classes: number of classes.
        in_chans: number of input channels.

    Shape:
        - Input: (N, in_chans, H, W)
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 1000, in_chans: int = 3):
        super().__init__()
        self.num_classes = num_classes
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_chans, num_classes)  # TODO: the paper's layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(x).flatten(1))
''',
}

_YAML = '''id: {id}
name: TODO full name
category: {category}
kind: TODO sub-kind
summary: TODO one sentence saying what it does.
aliases: []
tags: []
paper:
  title: TODO
  authors: [TODO]
  year: 2000
  venue: TODO
  arxiv: "0000.00000"
  code: https://github.com/TODO
impl: {impl}
io: {io}
defaults: {{}}
{preprocess}claims:  # params/macs/flops are measured by encyclo; any other claim names a `measure` function in test_{id}.py
  - {claim}
    source: TODO section, table or equation of the paper
bench:
  {bench}
'''

_PREPROCESS = '''preprocess: {input_size: 224, resize: 256, interpolation: bilinear, mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225]}
'''

_README = '''# TODO full name

TODO: the idea in a paragraph.

## Method

TODO: the paper's equations, e.g. $$ y = f(x) $$ with the section they come from.

## Deviations

TODO: every way this implementation differs from the paper, or "None."
'''

_EXAMPLE = '''# %% [markdown]
# # TODO full name: a runnable example

# %%
from encyclo import create

block = create("{id}"{example_args})
print(block)
'''

_TEST = '''"""Tests of what is special about {id} (the generic suite covers shapes, gradients and claims)."""

from encyclo import create


def test_builds():
    assert create("{id}"{example_args}) is not None  # TODO: a property the paper states
{measure}'''


def scaffold(spec: str, root: Path) -> Path:
    """Create ``root/CATEGORY/ID`` with the five files; refuses to overwrite anything."""
    if spec.count("/") != 1:
        raise EncycloError(f"expected CATEGORY/ID (e.g. attention/eca), got '{spec}'")
    category, entry_id = spec.split("/")
    if category not in CATEGORIES:
        raise EncycloError(f"unknown category '{category}' (known: {', '.join(CATEGORIES)})")
    if not ID_RE.match(entry_id):
        raise EncycloError(f"invalid id '{entry_id}': use lowercase letters, digits and '_', starting with a letter")
    folder = root / category / entry_id
    if folder.exists():
        raise EncycloError(f"{folder} already exists; refusing to overwrite it")
    io = DEFAULT_IO[category]
    cls = "".join(part.capitalize() for part in entry_id.split("_"))
    impl = entry_id if io == "image_augment" else cls
    if io == "image_augment":
        claim = "what: TODO_property\n    value: 0\n    unit: TODO\n    at: {}\n    measure: measure_todo"
        measure = "\n\ndef measure_todo():\n    return 0  # TODO: compute the claimed figure from the code\n"
    else:
        at = "{channels: 64}" if io == "feature_map" else "{}"
        claim, measure = f"what: params\n    value: 0\n    unit: count\n    at: {at}", ""
    example_args = ", channels=64" if io == "feature_map" else ""
    files = {
        "entry.yaml": _YAML.format(id=entry_id, category=category, impl=impl, io=io, claim=claim, bench=_BENCH[io],
                                   preprocess=_PREPROCESS if io == "classifier" else ""),
        f"{entry_id}.py": _IMPL[io].format(cls=cls, func=entry_id),
        "README.md": _README,
        "example.py": _EXAMPLE.format(id=entry_id, example_args=example_args),
        f"test_{entry_id}.py": _TEST.format(id=entry_id, example_args=example_args, measure=measure),
    }
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
