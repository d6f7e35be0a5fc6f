"""The docs site builds in strict mode (every page in the nav, every link and anchor between
pages found), and every relative link and image of the built HTML reaches a file of the site,
generated pages included. CI installs the ``docs`` extra; elsewhere the test skips without it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)
            if name == "id" and value:
                self.ids.add(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("CI") != "true":
        pytest.importorskip("mkdocs", reason="pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text())
    return links


def broken_links(site: Path) -> list[str]:
    broken = []
    for page in site.rglob("*.html"):
        if page.name == "404.html":  # served at any depth, it links from the site's root
            continue
        for target in parse(page).targets:
            url = urlsplit(target)
            if url.scheme or url.netloc or target.startswith(("#", "mailto:")):
                continue
            path = (page.parent / unquote(url.path)).resolve()
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{page.relative_to(site)}: {target}")
            elif url.fragment and path.suffix == ".html" and url.fragment not in parse(path).ids:
                broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    return broken


def test_every_relative_link_of_the_site_reaches_a_file(site: Path) -> None:
    assert (site / "reference" / "rest" / "index.html").is_file()
    assert broken_links(site) == []


def test_a_broken_link_is_reported(site: Path, tmp_path: Path) -> None:
    page = tmp_path / "page" / "index.html"
    page.parent.mkdir()
    page.write_text('<a href="../missing/">x</a><a href="../page/#here">y</a><p id="there">')
    assert broken_links(tmp_path) == [
        "page/index.html: ../missing/",
        "page/index.html: ../page/#here (no such anchor)",
    ]


def test_the_site_fetches_nothing_from_another_host(site: Path) -> None:
    """No web fonts, no CDN: every script, stylesheet and image is served by the site."""
    for page in site.rglob("*.html"):
        text = page.read_text()
        for tag in re.findall(r"<(?:script|link|img)\b[^>]*>", text):
            assert (
                not re.search(r'(?:src|href)="(?:https?:)?//', tag) or 'rel="canonical"' in tag
            ), (
                page,
                tag,
            )


def test_the_generated_references_follow_the_code(site: Path) -> None:
    """The REST page lists every operation of the app's OpenAPI document, the state diagram
    every state of rota.runs, the CLI page every command of the click group, and the Python
    page every public name of rota (docs/reference/python.md names them: add a new one)."""
    import json

    import rota
    from rota.cli.main import cli
    from rota.runs import RunState

    doc = json.loads((site / "reference" / "openapi.json").read_text())
    rest = (site / "reference" / "rest" / "index.html").read_text()
    for path, item in doc["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in rest.replace("&#123;", "{"), (method, path)
    svg = (site / "concepts" / "run-states.svg").read_text()
    assert all(f">{state.value}<" in svg for state in RunState)
    commands = (site / "reference" / "cli" / "index.html").read_text()
    assert all(f"rota {name}" in commands for name in cli.commands)
    python = parse(site / "reference" / "python" / "index.html").ids
    assert [n for n in rota.__all__ if n != "__version__" and f"rota.{n}" not in python] == []


def test_the_readme_links_reach_the_docs_pages_and_their_anchors(site: Path) -> None:
    """The README is read on its own (it is not a page of the site): its links into docs/
    must name a page that exists and, after ``#``, a heading of that page."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    assert len(targets) > 5
    broken = []
    for target in targets:
        path, _, anchor = target.partition("#")
        if urlsplit(path).scheme:
            continue
        if not (ROOT / path).is_file():
            broken.append(target)
        elif anchor:
            page = site / Path(path).relative_to("docs").with_suffix("") / "index.html"
            if anchor not in parse(page).ids:
                broken.append(target)
    assert broken == []
