"""mkdocs hooks for the notebook pages (mkdocs-jupyter).

- Their math becomes MathML, like the Markdown pages' (encyclo.docs.mathml): mkdocs-jupyter leaves TeX
  for MathJax, which an offline site cannot load from a CDN.
- The dormant CDN loaders nbconvert's template emits (MathJax with an empty URL, mermaid when a page has
  no diagram) are removed: the pages load nothing from another host.
- They stay out of the search index: the entry page shows (and indexes) the same executed example.
"""

from __future__ import annotations

import re

from encyclo.docs.mathml import dollars_to_mathml

_MARKDOWN_CELL = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^"]*"[^>]*>)(.*?)(</div>)', re.S)
_MATHJAX = re.compile(r'<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->', re.S)
_MERMAID = re.compile(r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{'
                      r'\s*const diagrams = document\.querySelectorAll\("\.jp-Mermaid.*?</script>', re.S)


def on_page_content(html: str, page, config, files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    page.meta.setdefault("search", {})["exclude"] = True
    html = _MATHJAX.sub("", html)
    if 'class="jp-Mermaid' not in html:
        html = _MERMAID.sub("", html)
    if "$" in html:
        html = _MARKDOWN_CELL.sub(lambda m: m.group(1) + dollars_to_mathml(m.group(2)) + m.group(3), html)
    return html
