"""A workflow drawn as a graph: layers, coordinates and the SVG text. Pure, no I/O.

Each step's layer is the longest path from a root (a step that comes after none) to it, so
every edge points down to a later layer. Layers are rows, top to bottom. In a row, the steps
are ordered by where their upstreams sit (the mean of their positions in the rows above),
then by the order they were added, which keeps crossings few for the usual shapes (chains,
fan-out, fan-in). An edge that goes down more than one layer passes through a bend in each
layer it crosses, a narrow slot of that layer's row, so it runs between the boxes of those
layers rather than behind them. Each step is a box with its name and its state as text
(colour is never the only sign), linking to its run; edges are paths ending in an arrowhead.
Every text put in the SVG is escaped.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 152
HEIGHT = 50
GAP_X = 20
GAP_Y = 46
PAD = 8
NAME_CHARS = 18
"""A longer step name is cut in its box (the box's tooltip and the steps table have it all)."""
MAX_STEPS = 300
MAX_ROW = 30
"""Past these many steps, or a drawing wider than this many boxes side by side, no graph is
drawn: the table lists the steps."""
FITS = 620
"""A graph at most this wide (in pixels at full size) shrinks to fit a narrow screen; a
wider one keeps its size and scrolls inside its own box, so its text stays readable."""


@dataclass(frozen=True, slots=True)
class Node:
    """A step as the graph needs it: ``href`` its run's page, ``detail`` its tooltip."""

    name: str
    state: str
    after: tuple[str, ...]
    href: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Placed:
    """A box (a step) or a bend (a point an edge passes through on a layer it crosses), its
    layer and its top-left corner."""

    key: str
    node: Node | None
    layer: int
    x: float
    y: float
    ups: tuple[str, ...]

    @property
    def width(self) -> int:
        return WIDTH if self.node is not None else BEND


BEND = 12
"""The room an edge that crosses a layer takes in that layer's row."""


def layers(nodes: Sequence[Node]) -> dict[str, int]:
    """Each step's layer: 0 for a root, else one more than its deepest upstream. Names in
    ``after`` that are no step are ignored; steps on a cycle (never stored) get layer 0."""
    ups = _ups(nodes)
    downs: dict[str, list[str]] = {n.name: [] for n in nodes}
    for n in nodes:
        for u in ups[n.name]:
            downs[u].append(n.name)
    left = {name: len(found) for name, found in ups.items()}
    layer = dict.fromkeys(ups, 0)
    ready = [n.name for n in nodes if left[n.name] == 0]
    while ready:  # Kahn's order: no recursion, so a chain of thousands is fine
        name = ready.pop()
        for down in downs[name]:
            layer[down] = max(layer[down], layer[name] + 1)
            left[down] -= 1
            if left[down] == 0:
                ready.append(down)
    return layer


def _ups(nodes: Sequence[Node]) -> dict[str, tuple[str, ...]]:
    names = {n.name for n in nodes}
    return {
        n.name: tuple(u for u in dict.fromkeys(n.after) if u in names and u != n.name)
        for n in nodes
    }


def rows(nodes: Sequence[Node]) -> list[list[Placed]]:
    """The slots of each layer, top first, each row ordered to keep crossings few: a slot is
    a step, or a bend of an edge that goes down more than one layer (so that it passes
    between the boxes of the layers it crosses, not behind them). Coordinates are not set."""
    layer = layers(nodes)
    grouped: list[list[Placed]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    ups = _ups(nodes)
    for n in nodes:
        through: list[str] = []
        for u in ups[n.name]:
            previous = f"s:{u}"  # keys: "s:" and a step's name, or "b:" for a bend
            for depth in range(layer[u] + 1, layer[n.name]):  # one bend per layer crossed
                bend = f"b:{len(through)}:{depth}:{n.name}"
                grouped[depth].append(Placed(bend, None, depth, 0.0, 0.0, (previous,)))
                previous = bend
            through.append(previous)
        at = layer[n.name]
        grouped[at].append(Placed(f"s:{n.name}", n, at, 0.0, 0.0, tuple(through)))
    position: dict[str, float] = {}
    for row in grouped:

        def key(item: tuple[int, Placed]) -> tuple[float, int]:
            seen = [position[u] for u in item[1].ups if u in position]
            return (sum(seen) / len(seen) if seen else -1.0, item[0])

        row[:] = [p for _, p in sorted(enumerate(row), key=key)]
        position.update({p.key: float(i) for i, p in enumerate(row)})
    return grouped


def place(nodes: Sequence[Node]) -> tuple[list[Placed], int, int]:
    """Every slot with its top-left corner, and the drawing's width and height."""
    grouped = rows(nodes)
    used = [sum(p.width for p in row) + max(0, len(row) - 1) * GAP_X for row in grouped]
    width = 2 * PAD + max(used, default=0)
    height = 2 * PAD + len(grouped) * HEIGHT + max(0, len(grouped) - 1) * GAP_Y
    placed: list[Placed] = []
    for depth, row in enumerate(grouped):
        x = (width - used[depth]) / 2
        y = float(PAD + depth * (HEIGHT + GAP_Y))
        for p in row:
            placed.append(Placed(p.key, p.node, depth, x, y, p.ups))
            x += p.width + GAP_X
    return placed, width, height


def drawable(nodes: Sequence[Node]) -> bool:
    """Whether the graph is small enough to be read as a drawing."""
    if len(nodes) > MAX_STEPS:
        return False
    _, width, _ = place(nodes)
    return width <= 2 * PAD + MAX_ROW * WIDTH + (MAX_ROW - 1) * GAP_X


def _cut(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _edge(down: Placed, up: str, at: dict[str, Placed]) -> str:
    """The path from the box above (``up``: a slot key of ``down.ups``) to ``down``'s, through
    the bends of the layers it crosses: a curve between layers, straight through a layer."""
    chain = [down, at[up]]
    while chain[-1].node is None:
        chain.append(at[chain[-1].ups[0]])
    chain.reverse()
    first = chain[0]
    d = [f"M{_point(first.x + first.width / 2, first.y + HEIGHT)}"]
    for a, b in itertools.pairwise(chain):
        x1, y1 = a.x + a.width / 2, a.y + HEIGHT
        x2, y2 = b.x + b.width / 2, b.y - (2 if b.node is not None else 0)
        bend = (y2 - y1) / 2
        d.append(f"C{_point(x1, y1 + bend)} {_point(x2, y2 - bend)} {_point(x2, y2)}")
        if b.node is None:
            d.append(f"L{_point(x2, b.y + HEIGHT)}")
    return f'<path class="edge" d="{" ".join(d)}" marker-end="url(#wf-arrow)"></path>'


def _point(x: float, y: float) -> str:
    return f"{_num(x)},{_num(y)}"


def _box(p: Placed, n: Node) -> str:
    label = escape(f"Step {n.name}: {n.state}", quote=True)
    title = escape(n.detail or f"{n.name}: {n.state}", quote=False)
    cx = _num(p.x + WIDTH / 2)
    name, state = escape(_cut(n.name), quote=False), escape(n.state, quote=False)
    return (
        f'<a class="node state-{escape(n.state, quote=True)}" href="{escape(n.href, quote=True)}"'
        f' aria-label="{label}"><title>{title}</title>'
        f'<rect x="{_num(p.x)}" y="{_num(p.y)}" width="{WIDTH}" height="{HEIGHT}" rx="6"></rect>'
        f'<text class="step-name" x="{cx}" y="{_num(p.y + 21)}">{name}</text>'
        f'<text class="step-state" x="{cx}" y="{_num(p.y + 40)}">{state}</text>'
        "</a>"
    )


XMLNS = "http://www.w3.org/2000/svg"
ARROW = (
    '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
    ' markerHeight="7" orient="auto"><path class="arrow" d="M0,0 L10,5 L0,10 z"></path>'
    "</marker></defs>"
)


def svg(nodes: Sequence[Node], label: str) -> str:
    """The graph as an SVG element (text to put in a page as it is: everything is escaped).
    It scales with its box (``viewBox``), up to its full size."""
    placed, width, height = place(nodes)
    at = {p.key: p for p in placed}
    edges = [_edge(p, up, at) for p in placed if p.node is not None for up in p.ups]
    wide = " wide" if width > FITS else ""
    return (
        f'<svg class="graph{wide}" xmlns="{XMLNS}" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="group" aria-label="{escape(label, quote=True)}">'
        f"{ARROW}"
        f'<g class="edges" aria-hidden="true">{"".join(edges)}</g>'
        f'<g class="nodes">{"".join(_box(p, p.node) for p in placed if p.node)}</g>'
        "</svg>"
    )
