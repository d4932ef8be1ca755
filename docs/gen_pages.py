"""mkdocs-gen-files script: writes the generated pages (entries, categories, charts, executed examples).

All rendering lives in encyclo.docs (pure, unit-tested); this script only wires it to mkdocs-gen-files.
ENCYCLO_RESULTS_DIR points the site at another results folder (default: benchmarks/results/).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import mkdocs_gen_files

from encyclo.docs.build import site
from encyclo.docs.category_page import fill_markers

log = logging.getLogger("mkdocs.encyclo.site")
start = time.perf_counter()
results_dir = os.environ.get("ENCYCLO_RESULTS_DIR")
generator = site(results_dir=Path(results_dir) if results_dir else None,
                 cache_dir=Path(os.environ.get("ENCYCLO_SITE_CACHE", ".cache")))
for path, content in generator.generate().items():
    with mkdocs_gen_files.open(path, "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)

with mkdocs_gen_files.open("index.md", "r") as f:
    home = f.read()
with mkdocs_gen_files.open("index.md", "w") as f:
    f.write(fill_markers(home, generator.home_blocks("index.md")))
log.info("encyclo: generated %d files for %d entries in %.1f s", len(generator.files), len(generator.entries),
         time.perf_counter() - start)
