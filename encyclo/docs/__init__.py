"""The documentation site's generator: pure renderers from registry objects and results rows to Markdown.

- :mod:`.entry_page`: one entry's page (paper card, claims, article, API, example, benchmarks, ...)
- :mod:`.category_page`: category comparison tables, the all-entries index, home blocks, navigation
- :mod:`.results`: choosing results rows (reference inputs, stale rows, devices)
- :mod:`.notebooks`: example.py -> notebook with fixed cell ids -> executed (cached) -> Markdown
- :mod:`.charts`: PNG charts of results (matplotlib, object API)
- :mod:`.mathml`: Markdown extension turning arithmatex's TeX into MathML at build time
- :mod:`.build`: the build-time side (claims, counts, examples, charts, caches) that docs/gen_pages.py wires

No module here knows about a specific entry.
"""
