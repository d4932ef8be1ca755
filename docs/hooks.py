"""mkdocs hooks for the notebook pages (mkdocs-jupyter): their math becomes MathML too (mkdocs-jupyter
leaves TeX for MathJax, which an offline site cannot load from a CDN; Markdown pages are handled by
encyclo.docs.mathml), and they stay out of the search index (the entry page holds the same example)."""

from __future__ import annotations

import re

from encyclo.docs.mathml import dollars_to_mathml

_MARKDOWN_CELL = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>)', re.S)


def on_page_content(html: str, page, config, files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    # The example is already on its entry page (and searchable there): keep the notebook copy out of search.
    page.meta.setdefault("search", {})["exclude"] = True
    if "$" not in html:
        return html
    return _MARKDOWN_CELL.sub(lambda m: m.group(1) + dollars_to_mathml(m.group(2)) + m.group(3), html)
