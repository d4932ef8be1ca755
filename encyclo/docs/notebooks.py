"""Executed examples: example.py (jupytext percent) -> .ipynb with fixed cell ids -> executed -> Markdown.

The executed notebook is cached under ``<cache>/<key>.ipynb``; the key hashes the entry folder's
files that can change what the example prints (implementation, example, entry.yaml, data files; not
the README or the tests), so unchanged entries are not re-run. A failing example raises
:class:`ExampleError` naming the entry, which fails the site build.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ..files import write_atomically
from .markdown import code_block, image, png_size, unsearchable

CACHE_FORMAT = "1"  # bump when the conversion or execution settings change
KERNEL = "python3"
_SKIPPED = ("README.md",)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADING = re.compile(r"^(#{1,6})(\s)")


class ExampleError(RuntimeError):
    """An entry's example failed to execute; the message names the entry and the failing cell."""


def to_notebook(script: str) -> Any:
    """A jupytext percent script as an nbformat notebook whose cell ids are ``cell-0``, ``cell-1``, ...

    jupytext draws random ids; fixed ones keep the executed notebook (and the site) reproducible.
    """
    import jupytext

    nb = jupytext.reads(script, fmt="py:percent")
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def cache_key(folder: Path, *, salt: str = "") -> str:
    """sha256 (16 hex) of the files in an entry folder that the example depends on, plus ``salt``."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{KERNEL}\0{salt}\0".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if (rel in _SKIPPED or path.name.startswith(("test_", ".")) or "__pycache__" in path.parts
                or path.suffix == ".pyc"):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def execute(nb: Any, *, cwd: Path, name: str, timeout: int = 600, threads: str | None = None) -> Any:
    """Run every cell in a fresh kernel (matplotlib inline); raise ExampleError naming ``name``.

    ``threads`` caps the kernel's intra-op threads (OMP_NUM_THREADS) when several kernels run at once.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", **({"OMP_NUM_THREADS": threads} if threads else {})}
    # The kernel's own log at ERROR: ipykernel >= 7 warns on every start that a local TCP kernel is not
    # encrypted (96 lines per site build); the examples' own warnings still reach their cell outputs.
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=timeout, allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:
        asyncio.run(client.async_execute(env=env))
    except (CellExecutionError, CellTimeoutError) as exc:
        raise ExampleError(f"the example of entry '{name}' failed:\n{_ANSI.sub('', str(exc))}") from exc
    except Exception as exc:  # kernel died, could not start, ...
        raise ExampleError(f"the example of entry '{name}' could not run: {type(exc).__name__}: {exc}") from exc
    return nb


def executed(script_path: Path, *, name: str, cache_dir: Path, salt: str = "", threads: str | None = None) -> Any:
    """The executed notebook of an example script, from the cache when its entry folder is unchanged."""
    import nbformat

    cached = cache_dir / f"{cache_key(script_path.parent, salt=salt)}.ipynb"
    if cached.exists():
        return nbformat.read(cached, as_version=4)
    nb = execute(to_notebook(script_path.read_text(encoding="utf-8")), cwd=script_path.parent, name=name,
                 threads=threads)
    # Two builds (or two pytest workers) may execute the same example at once: each replaces the cache
    # entry atomically with identical content.
    write_atomically(cached, nbformat.writes(nb))
    return nb


def _shift_headings(markdown: str, shift: int) -> str:
    out, in_fence = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence:
            line = _HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + shift) + m.group(2), line)
        out.append(line)
    return "\n".join(out)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def to_markdown(nb: Any, *, image_prefix: str = "example", heading_shift: int = 2) -> tuple[str, dict[str, bytes]]:
    """An executed notebook as Markdown (code fences, output blocks, images) and the image files it links.

    Headings are shifted down by ``heading_shift`` levels so the notebook nests under a page section;
    images are named ``<image_prefix>-<cell>-<n>.png`` and linked relatively (same folder as the page).
    """
    parts: list[str] = []
    images: dict[str, bytes] = {}
    for number, cell in enumerate(nb.cells):
        source = _text(cell.source).strip()
        if cell.cell_type == "markdown":
            parts.append(_shift_headings(source, heading_shift))
            continue
        if cell.cell_type != "code":
            continue
        if source:  # code and outputs stay out of the search index; the notebook's prose is indexed
            parts.append(unsearchable(code_block(source, "python"), "nb-input"))
        streams: dict[str, str] = {}
        rendered: list[str] = []

        def flush() -> None:
            for text in streams.values():
                if text.strip():
                    rendered.append(_output_block(text))
            streams.clear()

        for k, output in enumerate(cell.get("outputs", [])):
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + _ANSI.sub("", _text(output.text))
                continue
            flush()
            data = output.get("data", {})
            if "image/png" in data:
                png = base64.b64decode(_text(data["image/png"]))
                ext, blob = compact_image(png)
                name = f"{image_prefix}-{number}-{k}.{ext}"
                images[name] = blob
                rendered.append(image(f"Output of cell {number}", name, png_size(png), "nb-image"))
            elif "image/svg+xml" in data:
                name = f"{image_prefix}-{number}-{k}.svg"
                images[name] = _text(data["image/svg+xml"]).encode()
                rendered.append(image(f"Output of cell {number}", name, None, "nb-image"))
            elif "text/markdown" in data:
                rendered.append(_text(data["text/markdown"]))
            elif "text/plain" in data:
                rendered.append(_output_block(_text(data["text/plain"])))
            elif output.output_type == "error":
                rendered.append(_output_block(_ANSI.sub("", "\n".join(output.get("traceback", [])))))
        flush()
        parts.extend(rendered)
    return "\n\n".join(p for p in parts if p) + "\n", images


def compact_image(png: bytes, *, threshold: int = 150_000) -> tuple[str, bytes]:
    """A large, photo-like PNG as a JPEG when that is under half its size (page weight); else the PNG."""
    if len(png) <= threshold:
        return "png", png
    try:
        import io

        from PIL import Image
    except ImportError:
        return "png", png
    with Image.open(io.BytesIO(png)) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="JPEG", quality=85, optimize=True)
    jpeg = buf.getvalue()
    return ("jpg", jpeg) if len(jpeg) < len(png) // 2 else ("png", png)


def _output_block(text: str) -> str:
    return unsearchable(code_block(text.rstrip("\n"), "{ .text .no-copy }"), "nb-output")
