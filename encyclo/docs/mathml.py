"""Server-side math for the site: TeX -> MathML at build time, so pages need no JavaScript math renderer.

``pymdownx.arithmatex`` (``generic: true``) finds the math (``$...$``, ``$$...$$``, ``\\(...\\)``,
``\\[...\\]``) and wraps it as ``<span class="arithmatex">\\(...\\)</span>`` or
``<div class="arithmatex">\\[...\\]</div>``; this extension's postprocessor converts those to MathML with
``latex2mathml``. Browsers render MathML natively (Chromium >= 109, Firefox, Safari), also from
``file://``, and the TeX source stays in an ``<annotation>`` for copy and for search. A formula that
cannot be converted is logged as a warning (which fails ``mkdocs build --strict``) and left as TeX.
"""

from __future__ import annotations

import html
import logging
import re

from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor

log = logging.getLogger("mkdocs.encyclo.mathml")

_ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\s*(?:\\\((?P<inline>.*?)\\\)|\\\[(?P<block>.*?)\\\])\s*</(?P=tag)>',
    re.S)
# Dollar math as nbconvert leaves it in rendered notebook markdown: $$...$$ or $...$ (no space inside the
# delimiters, no digit after the closing one, as arithmatex's smart_dollar rule).
_DOLLARS = re.compile(r"(?<![\\$])\$\$(?P<block>.+?)\$\$"
                      r"|(?<![\\$\w])\$(?![\s$])(?P<inline>(?:\\.|[^\\$])+?)(?<!\s)\$(?![\d$])", re.S)


def tex_to_mathml(tex: str, *, display: bool) -> str:
    """One formula as a ``<math>`` element (raises ``ValueError`` when latex2mathml cannot parse it)."""
    from latex2mathml.converter import convert

    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception types
        raise ValueError(f"cannot convert TeX {tex.strip()!r} to MathML: {type(exc).__name__}: {exc}") from exc
    # keep the source as an annotation (copy/paste, search) inside the <math> root
    body = mathml.split(">", 1)[1].rsplit("</math>", 1)[0]
    head = mathml.split(">", 1)[0] + ">"
    return (f'{head}<semantics>{body}<annotation encoding="application/x-tex">{html.escape(tex.strip())}'
            f'</annotation></semantics></math>')


def _render(tex: str, display: bool, fallback: str) -> str:
    try:
        mathml = tex_to_mathml(tex, display=display)
    except ValueError as exc:
        log.warning(str(exc))
        return fallback
    cls = "encyclo-math encyclo-math--block" if display else "encyclo-math"
    tag = "div" if display else "span"
    return f'<{tag} class="{cls}">{mathml}</{tag}>'


def arithmatex_to_mathml(page_html: str) -> str:
    """Replace arithmatex's generic wrappers in rendered HTML by MathML."""
    def sub(m: re.Match) -> str:
        display = m.group("block") is not None
        return _render(html.unescape(m.group("block") if display else m.group("inline")), display, m.group(0))

    return _ARITHMATEX.sub(sub, page_html)


def dollars_to_mathml(fragment: str) -> str:
    """Replace ``$...$``/``$$...$$`` in an HTML fragment (e.g. a rendered notebook markdown cell)."""
    def sub(m: re.Match) -> str:
        display = m.group("block") is not None
        return _render(html.unescape(m.group("block") if display else m.group("inline")), display, m.group(0))

    return _DOLLARS.sub(sub, fragment)


class _MathMLPostprocessor(Postprocessor):
    def run(self, text: str) -> str:
        return arithmatex_to_mathml(text) if "arithmatex" in text else text


class MathMLExtension(Extension):
    """Markdown extension ``encyclo.docs.mathml``: put it after ``pymdownx.arithmatex`` (generic)."""

    def extendMarkdown(self, md: Markdown) -> None:
        # after raw-HTML restoration (30) and the ampersand/unescape steps: the final HTML string
        md.postprocessors.register(_MathMLPostprocessor(md), "encyclo_mathml", 5)


def makeExtension(**kwargs) -> MathMLExtension:  # noqa: N802 - Python-Markdown's entry point name
    return MathMLExtension(**kwargs)
