"""MkDocs hooks: the docs pages made from the code at build time, so they cannot drift.

- ``reference/openapi.json``: the OpenAPI document of ``App.asgi()`` (with a token, so the
  bearer scheme shows), and ``reference/rest.md``: its operations and schemas as tables.
- ``concepts/run-states.svg``: the run state machine drawn from ``rota.runs.transitions()``,
  and the marker ``<!-- rota:transitions -->`` in a page: the same table as markdown.

Nothing here reaches the network: the app is built on a throwaway SQLite file and never
serves. Wired in ``mkdocs.yml`` (``hooks:``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import rota
from rota.runs import CLAIMABLE, TERMINAL, RunState, transitions

TRANSITIONS_MARKER = "<!-- rota:transitions -->"
METHODS = ("get", "post", "put", "patch", "delete")
GAP = 118  # between two states of the diagram


def on_files(files: Files, config: MkDocsConfig) -> Files:
    document = openapi_document()
    generated = {
        "reference/openapi.json": json.dumps(document, indent=2) + "\n",
        "reference/rest.md": rest_markdown(document),
        "concepts/run-states.svg": state_svg(),
    }
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if TRANSITIONS_MARKER in markdown:
        markdown = markdown.replace(TRANSITIONS_MARKER, transitions_table())
    return markdown


# --- the REST API ------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = rota.App(database=f"sqlite:///{Path(tmp) / 'docs.db'}")
        document: dict[str, Any] = app.asgi(token="docs").openapi()
        return document


def rest_markdown(doc: dict[str, Any]) -> str:
    lines = [
        "# REST API",
        "",
        "Generated at build time from the app's OpenAPI document, which is also served at",
        "`/api/openapi.json` (interactive at `/api/docs`) and saved here as",
        "[openapi.json](openapi.json). With a token set, every operation but `/api/health`",
        'needs `Authorization: Bearer <token>`. Errors are `{"error": {"code", "message"}}`',
        "([ErrorEnvelope](#errorenvelope)).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method, path, item[method]))
    for tag, operations in by_tag.items():
        lines += [f"## {tag.capitalize()}", ""]
        for method, path, op in operations:
            lines += operation_markdown(method, path, op)
    lines += ["## Schemas", ""]
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        lines += schema_markdown(name, schema)
    return "\n".join(lines) + "\n"


def operation_markdown(method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if op.get("description") or op.get("summary"):
        lines += [one_line(op.get("description") or op["summary"]), ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params:
            required = "yes" if p.get("required") else ""
            lines.append(
                f"| `{p['name']}` | {p['in']} | {type_of(p.get('schema', {}))} | {required} "
                f"| {cell(p.get('description', ''))} |"
            )
        lines.append("")
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines += [f"Body: {type_of(body['schema'])}", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    errors: dict[str, list[tuple[str, str]]] = {}  # errors of one shape share a row
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), {})
        shape = type_of(media["schema"]) if media.get("schema") else ""
        meaning = cell(response.get("description", ""))
        if status.startswith(("4", "5")):
            errors.setdefault(shape, []).append((status, meaning))
        else:
            lines.append(f"| {status} | {meaning} | {shape} |")
    for shape, rows in errors.items():
        statuses = ", ".join(status for status, _ in rows)
        lines.append(f"| {statuses} | {'; '.join(m for _, m in rows)} | {shape} |")
    return [*lines, ""]


def schema_markdown(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [one_line(schema["description"]), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {type_of(schema)}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        mark = "yes" if field in required else ""
        lines.append(
            f"| `{field}` | {type_of(spec)} | {mark} | {cell(spec.get('description', ''))} |"
        )
    return [*lines, ""]


def type_of(schema: dict[str, Any]) -> str:
    """A schema as a short type: a link for a named schema, ``a | b`` for a union."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " \\| ".join(type_of(s) for s in schema[union])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {type_of(extra) if isinstance(extra, dict) else 'any'}"
    return f"`{kind}`"


def one_line(text: str) -> str:
    return " ".join(text.split())


def cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


# --- the run state machine ---------------------------------------------------------------------


def transitions_table() -> str:
    lines = ["| from | event | to |", "|---|---|---|"]
    for state, event, exhausted, to in transitions():
        note = " (no attempt left)" if exhausted else ""
        lines.append(f"| `{state.value}` | `{event.value}`{note} | `{to.value}` |")
    return "\n".join(lines)


def state_order() -> list[RunState]:
    """Left to right: states before a claim, then running, then the terminal states."""
    rank = {s: 0 if s in CLAIMABLE or s is RunState.WAITING else 1 for s in RunState}
    rank.update({s: 2 for s in TERMINAL})
    return sorted(RunState, key=lambda s: rank[s])


def edge_labels() -> dict[tuple[RunState, RunState], list[str]]:
    edges: dict[tuple[RunState, RunState], list[str]] = {}
    for state, event, exhausted, to in transitions():
        label = event.value + ("*" if exhausted else "")
        edges.setdefault((state, to), []).append(label)
    return edges


def state_svg() -> str:
    """An arc diagram: states on one line, moves to the right as arcs above it, moves back
    as arcs below it, events (``*``: with no attempt left) at each arc's top."""
    order = state_order()
    gap, box_w, box_h, rise = GAP, 96, 30, 34
    x_of = {s: 70 + i * gap for i, s in enumerate(order)}
    spans = [abs(order.index(a) - order.index(b)) for a, b in edge_labels()]
    top = 40 + rise * max(spans)
    height = top * 2 + 30
    width = x_of[order[-1]] + 70
    body: list[str] = []
    for (a, b), labels in edge_labels().items():
        body += arc(x_of[a], x_of[b], top, box_h, rise, ", ".join(labels), a is b)
    for state in order:
        x = x_of[state]
        fill = "#e8f5e9" if state in TERMINAL else "#e3f2fd"
        body.append(
            f'<rect x="{x - box_w / 2}" y="{top - box_h / 2}" width="{box_w}" '
            f'height="{box_h}" rx="8" fill="{fill}" stroke="#37474f"/>'
            f'<text x="{x}" y="{top + 5}" text-anchor="middle" font-weight="bold">'
            f"{state.value}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="12">'
        '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#37474f"/></marker></defs>'
        '<rect width="100%" height="100%" fill="white"/>'
        + "".join(body)
        + f'<text x="10" y="{height - 8}">* with no attempt left</text></svg>\n'
    )


def arc(
    x1: float, x2: float, mid: float, box_h: int, rise: int, label: str, loop: bool
) -> list[str]:
    path = 'fill="none" stroke="#37474f" marker-end="url(#head)"'
    if loop:
        y = mid - box_h / 2
        return [
            f'<path d="M{x1 + 30},{y} C{x1 + 30},{y - 30} {x1 + 46},{y - 30} {x1 + 46},{y}" '
            f"{path}/>",
            label_at(x1 + 38, y - 26, label),
        ]
    forward = x2 > x1
    sign = -1 if forward else 1
    y = mid + sign * box_h / 2
    span = abs(x2 - x1) / GAP
    height = rise * span + 10
    control = y + sign * height * 4 / 3
    apex = y + sign * height
    # the longer an arc, the farther out its ends, so that nested arcs do not meet
    spread = max(-40.0, 24 - 7 * span) * (1 if forward else -1)
    start, end = x1 + spread, x2 - spread
    return [
        f'<path d="M{start},{y} C{start},{control} {end},{control} {end},{y}" {path}/>',
        label_at((x1 + x2) / 2, apex + (-4 if forward else 12), label),
    ]


def label_at(x: float, y: float, text: str) -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="middle" paint-order="stroke" stroke="white" '
        f'stroke-width="4">{text}</text>'
    )
