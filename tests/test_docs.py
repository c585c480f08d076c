"""The README stays a front door (at most 10 KB), and every relative link or image in README.md and docs/ leads
somewhere: to a file that exists and, for a `#anchor` into a markdown file, to one of its headings (GitHub's
slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
README_LIMIT_BYTES = 10 * 1024

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = ("http://", "https://", "mailto:")


def prose(text: str) -> str:
    """The text a reader sees as markdown: code blocks, inline code and comments removed."""
    return INLINE_CODE.sub("", FENCE.sub("", HTML_COMMENT.sub("", text)))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its visible text, lower case, punctuation dropped, spaces as hyphens."""
    visible = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    kept = "".join(ch for ch in visible.lower() if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", HTML_COMMENT.sub("", document.read_text()))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(document.read_text())):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    return broken


def test_readme_fits_in_ten_kilobytes():
    size = len(README.read_bytes())

    assert size <= README_LIMIT_BYTES, f"README.md is {size} bytes; move detail into docs/ (limit 10240)"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(document: Path):
    assert broken_links(document) == []


def test_the_readme_shows_the_inbox_and_links_into_docs():
    targets = LINK.findall(prose(README.read_text()))

    assert "docs/images/inbox.png" in targets
    assert {"docs/operations.md", "docs/development.md", "docs/api.md"} <= set(targets)


def test_the_readme_says_what_a_public_deployment_must_add():
    security = prose(README.read_text()).partition("## Security")[2].partition("\n## ")[0]

    assert "TLS" in security and "timeouts" in security
    assert "docs/operations.md#a-public-deployment" in LINK.findall(security)


def test_a_link_to_a_missing_file_or_heading_is_reported(tmp_path: Path):
    (tmp_path / "guide.md").write_text("# Set up\n\n## The `chathub` command\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](guide.md#the-chathub-command) [gone](missing.md) [bad anchor](guide.md#nowhere) "
        "[web](https://example.com/x.md) `[code](ignored.md)`\n"
    )

    assert broken_links(page) == ["missing.md: no such file", "guide.md#nowhere: no such heading"]
