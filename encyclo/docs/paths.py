"""Where generated pages and their assets live, relative to docs/ (the site mirrors it)."""

from __future__ import annotations

from ..registry import Entry

ENTRIES_DIR = "entries"


def category_title(category: str) -> str:
    return category.replace("_", " ").capitalize()


def category_page(category: str) -> str:
    return f"{ENTRIES_DIR}/{category}/index.md"


def category_chart(category: str) -> str:
    return f"{ENTRIES_DIR}/{category}/latency.png"


def entry_dir(entry: Entry) -> str:
    return f"{ENTRIES_DIR}/{entry.category}/{entry.id}"


def entry_page(entry: Entry) -> str:
    return f"{entry_dir(entry)}/index.md"


def entry_chart(entry: Entry) -> str:
    return f"{entry_dir(entry)}/bench.png"


def entry_notebook(entry: Entry) -> str:
    """The executed example, rendered by mkdocs-jupyter as its own page (``.../example/``)."""
    return f"{entry_dir(entry)}/example.ipynb"


def entry_asset(entry: Entry, name: str) -> str:
    return f"{entry_dir(entry)}/{name}"
