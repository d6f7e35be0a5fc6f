"""The workflow graph's layout and SVG (pure): layers by longest path, rows without overlap,
an edge with an arrowhead per dependency, every text escaped, a link per step."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rota.web.dashboard import graph
from rota.web.dashboard.graph import Node

SVG = "{http://www.w3.org/2000/svg}"


def node(name: str, *after: str, state: str = "succeeded") -> Node:
    return Node(name, state, after, f"/runs/{name}")


DIAMOND = [
    node("report", "welcome", "invoice", "account"),  # added first: layers do not follow order
    node("account"),
    node("welcome", "account"),
    node("invoice", "account", state="failed"),
]


def test_a_steps_layer_is_its_longest_path_from_a_root() -> None:
    assert graph.layers(DIAMOND) == {"account": 0, "welcome": 1, "invoice": 1, "report": 2}
    # a shortcut edge (a -> c beside a -> b -> c) does not pull c up
    assert graph.layers([node("a"), node("b", "a"), node("c", "a", "b")])["c"] == 2
    # unknown names in after are ignored; a cycle (never stored) does not hang
    assert graph.layers([node("x", "nowhere")]) == {"x": 0}
    assert set(graph.layers([node("p", "q"), node("q", "p")]).values()) == {0}


def test_a_chain_of_thousands_is_laid_out_without_recursion() -> None:
    chain = [node("s0"), *(node(f"s{i}", f"s{i - 1}") for i in range(1, 5000))]
    assert graph.layers(chain)["s4999"] == 4999
    assert not graph.drawable(chain)  # too many to draw: the page shows the table only


def test_boxes_go_down_by_layer_and_never_overlap() -> None:
    placed, width, height = graph.place(DIAMOND)
    at = {p.node.name: p for p in placed if p.node}
    assert at["account"].y < at["welcome"].y == at["invoice"].y < at["report"].y
    for a in placed:
        assert a.x >= 0 and a.x + graph.WIDTH <= width and a.y + graph.HEIGHT <= height
        for b in placed:
            if a is not b and a.y == b.y:
                assert abs(a.x - b.x) >= min(a.width, b.width) + graph.GAP_X
    assert [p.node.name for p in placed if p.layer == 1 and p.node] == ["welcome", "invoice"]


def test_a_row_follows_its_upstreams_to_keep_crossings_few() -> None:
    steps = [node("a"), node("b"), node("under_b", "b"), node("under_a", "a")]
    [top, below] = graph.rows(steps)
    assert [p.key for p in top] == ["s:a", "s:b"]
    assert [p.key for p in below] == ["s:under_a", "s:under_b"]


def test_an_edge_over_several_layers_bends_between_the_boxes_it_passes() -> None:
    steps = [node("a"), node("b", "a"), node("c", "b"), node("d", "c", "a")]  # a -> d: 2 layers
    placed, _, _ = graph.place(steps)
    bends = [p for p in placed if p.node is None]
    assert [p.layer for p in bends] == [1, 2]  # one in each layer crossed
    for bend in bends:
        for box in placed:
            if box.node is not None and box.layer == bend.layer:
                assert bend.x >= box.x + graph.WIDTH or bend.x + graph.BEND <= box.x
    root = ET.fromstring(graph.svg(steps, "skip"))
    paths = [e.get("d", "") for e in root.findall(f".//{SVG}path[@class='edge']")]
    assert len(paths) == 4 and sum(" L" in d for d in paths) == 1


def test_the_svg_has_a_linked_labelled_box_per_step_and_an_arrow_per_edge() -> None:
    drawn = graph.svg(DIAMOND, "Steps of workflow 7")
    root = ET.fromstring(drawn)  # well-formed XML
    assert root.get("viewBox", "").startswith("0 0 ") and root.get("aria-label")
    links = root.findall(f".//{SVG}a")
    assert sorted(a.get("href", "") for a in links) == sorted(f"/runs/{n.name}" for n in DIAMOND)
    texts = {a.get("aria-label"): [t.text for t in a.findall(f"{SVG}text")] for a in links}
    assert texts["Step invoice: failed"] == ["invoice", "failed"]  # the state as text too
    assert "state-failed" in next(
        a.get("class", "") for a in links if "invoice" in str(a.get("href"))
    )
    edges = root.findall(f".//{SVG}path[@class='edge']")
    assert len(edges) == 5  # account->welcome, account->invoice, and three into report
    assert all(e.get("marker-end") == "url(#wf-arrow)" for e in edges)
    assert root.find(f".//{SVG}marker[@id='wf-arrow']") is not None


def test_every_text_in_the_svg_is_escaped_and_long_names_are_cut() -> None:
    hostile = Node(
        '<script>alert("x")</script>&' + "n" * 100, "failed", (), '/runs/1"><b>', "a < b & c"
    )
    drawn = graph.svg([hostile], 'label "quoted" <b>')
    assert "<script" not in drawn and "<b>" not in drawn
    root = ET.fromstring(drawn)
    [link] = root.findall(f".//{SVG}a")
    assert link.get("href") == '/runs/1"><b>'
    name = link.find(f"{SVG}text")
    assert name is not None and name.text is not None
    assert name.text.startswith('<script>alert("') and name.text.endswith("…")
    assert len(name.text) == graph.NAME_CHARS
    title = link.find(f"{SVG}title")
    assert title is not None and title.text == "a < b & c"


def test_a_narrow_graph_shrinks_to_fit_and_a_wide_one_scrolls_in_its_box() -> None:
    chain = graph.svg([node("a"), node("b", "a")], "chain")
    fan = graph.svg([node("root"), *(node(f"leaf{i}", "root") for i in range(6))], "fan")
    assert re.search(r'class="graph"', chain) and re.search(r'class="graph wide"', fan)
    assert graph.drawable([node(f"n{i}") for i in range(graph.MAX_ROW)])
    assert not graph.drawable([node(f"n{i}") for i in range(graph.MAX_ROW + 1)])
