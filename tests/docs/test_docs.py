"""The README and docs/ stay short, linked and true to the code.

- README.md is a five-minute read (at most 250 lines).
- Every relative link in README.md and docs/*.md resolves to a file or folder in the repository,
  and a ``#fragment`` to a heading of the target page (GitHub's anchor rules).
- docs/configuration.md is exactly what docs/generate_configuration.py writes from the schema.
- Every config key is on the configuration page, and every config key the pages name exists.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

from bot.config import describe

from testkit import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
GENERATOR = DOCS / "generate_configuration.py"
REGENERATE = ".venv/bin/python docs/generate_configuration.py"
MAX_README_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEMES = ("http://", "https://", "mailto:", "ftp://")
#: names like `model.keras` are files, not config keys
FILE_SUFFIXES = {"keras", "npz", "json", "jsonl", "csv", "png", "eml", "md", "py", "toml", "sqlite"}


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in prose_lines(path):
        for match in LINK.finditer(INLINE_CODE.sub("code", line)):
            found.append((number, match.group(1)))
    return found


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text lowercased, punctuation other than '-'
    and '_' dropped, spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    result = set()
    for _number, line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        anchor = github_anchor(match.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        result.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(result)


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_configuration", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_a_five_minute_read():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move detail into docs/"
    )


def test_github_anchor_rules():
    assert github_anchor("`python -m bot train` and `python -m bot evaluate`") == (
        "python--m-bot-train-and-python--m-bot-evaluate"
    )
    assert github_anchor("Loss limits, on by default") == "loss-limits-on-by-default"
    assert github_anchor("Websockets (optional)") == "websockets-optional"
    assert github_anchor("[strategy.sma_cross]") == "strategysma_cross"
    assert github_anchor("Bad input: what the bot promises") == "bad-input-what-the-bot-promises"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for number, target in links(page):
        if target.startswith(SCHEMES):
            continue
        where, _, fragment = target.partition("#")
        resolved = (page.parent / where).resolve() if where else page
        if not resolved.exists():
            broken.append(f"{page.name}:{number}: {target}: no such file")
        elif fragment:
            if resolved.suffix != ".md" or resolved.is_dir():
                broken.append(f"{page.name}:{number}: {target}: a #fragment on a page that is not Markdown")
            elif fragment not in anchors(resolved):
                broken.append(
                    f"{page.name}:{number}: {target}: no heading with that anchor in {resolved.name}"
                )
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {
        (README.parent / t.partition("#")[0]).resolve()
        for _n, t in links(README)
        if not t.startswith(SCHEMES)
    }
    orphans = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not orphans, f"docs pages the README's table does not link: {orphans}"


def test_configuration_page_is_up_to_date():
    expected = load_generator().render()
    page = DOCS / "configuration.md"
    assert page.exists(), f"docs/configuration.md is missing: run {REGENERATE}"
    assert page.read_text(encoding="utf-8") == expected, (
        f"docs/configuration.md is out of date with bot/config_schema.py: run {REGENERATE}"
    )


def test_every_config_key_is_on_the_configuration_page():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [key for key, _default, _help in describe() if f"`{key}`" not in text]
    assert not missing, f"keys missing from docs/configuration.md (run {REGENERATE}): {missing}"


def test_every_config_key_the_pages_name_exists():
    """A key renamed or removed in the schema must not live on in the prose."""
    import bot.config as config_module

    keys = {key for key, _default, _help in describe()}
    sections = {key.rpartition(".")[0] for key in keys}
    moved = set(getattr(config_module, "RENAMED", {}))
    top = "|".join(sorted({s.split(".")[0] for s in sections}))
    named = re.compile(rf"`((?:{top})\.[a-z_]+(?:\.[a-z_]+)*)`")
    unknown = []
    for page in pages():
        for number, line in prose_lines(page):
            for name in named.findall(line):
                if name.rpartition(".")[2] in FILE_SUFFIXES:
                    continue
                if name not in keys and name not in sections and name not in moved:
                    unknown.append(f"{page.name}:{number}: `{name}`")
    assert not unknown, "config keys that do not exist:\n" + "\n".join(unknown)
