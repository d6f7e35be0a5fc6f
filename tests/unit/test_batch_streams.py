"""File readers and writers driven as the chunk runner drives them, with crashes in between."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from rota.batch.context import StepContext
from rota.batch.readers import CsvReader, IterableReader, JsonLinesReader
from rota.batch.writers import CsvWriter, JsonLinesWriter
from tests.support import context, read_all, take

CSV_TEXT = (
    'id,text,note\r\n1,plain,x\r\n2,"two\r\nlines",y\n\n3,"quote "" and, comma",z\n'
    '4,"ünïcødé ✓","multi\nline\nfield"\n5,last,\n'
)
CSV_ROWS = [
    {"id": "1", "text": "plain", "note": "x"},
    {"id": "2", "text": "two\r\nlines", "note": "y"},
    {"id": "3", "text": 'quote " and, comma', "note": "z"},
    {"id": "4", "text": "ünïcødé ✓", "note": "multi\nline\nfield"},
    {"id": "5", "text": "last", "note": ""},
]


def test_csv_reader_reads_quoted_newlines_by_header(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(CSV_TEXT.encode())
    assert CsvReader.resumes is True
    assert read_all(CsvReader(path), context()) == CSV_ROWS


@pytest.mark.parametrize("commit", range(len(CSV_ROWS) + 1))
def test_csv_reader_resumes_after_the_last_committed_row(tmp_path: Path, commit: int) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(CSV_TEXT.encode())
    ctx = context()
    first = take(CsvReader(path), ctx, commit, lost=2)
    rest = read_all(CsvReader(path), context(ctx.state))
    assert first + rest == CSV_ROWS


def test_csv_reader_restart_seeks_instead_of_rereading(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    lines = ["n,square"] + [f"{n},{n * n}" for n in range(1000)]
    path.write_text("\n".join(lines) + "\n")
    ctx = context()
    assert take(CsvReader(path), ctx, 600)[-1] == {"n": "599", "square": str(599 * 599)}
    offset = ctx.state["reader"]["offset"]
    # Garble every row before the checkpoint: a restart that re-read them would fail.
    data = path.read_bytes()
    start = len(b"n,square\n")
    path.write_bytes(data[:start] + b'"' * (offset - start) + data[offset:])
    rest = read_all(CsvReader(path), context(ctx.state))
    assert [r["n"] for r in rest] == [str(n) for n in range(600, 1000)]


def test_the_same_reader_object_starts_over_on_a_fresh_execution(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("1\n2\n3\n")
    reader = JsonLinesReader(path)
    assert take(reader, context(), 2) == [1, 2]
    assert read_all(reader, context()) == [1, 2, 3]


def test_csv_reader_without_header_yields_lists_or_dicts_by_fieldnames(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a;1\nb;2\nc;3\n")
    ctx = context()
    assert take(CsvReader(path, delimiter=";", header=False), ctx, 1) == [["a", "1"]]
    assert read_all(CsvReader(path, delimiter=";", header=False), context(ctx.state)) == [
        ["b", "2"],
        ["c", "3"],
    ]
    named = CsvReader(path, delimiter=";", header=False, fieldnames=["k", "v"])
    assert read_all(named, context())[0] == {"k": "a", "v": "1"}


def test_csv_reader_header_with_fieldnames_skips_the_header(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("A,B\n1,2\n3,4\n")
    ctx = context()
    assert take(CsvReader(path, fieldnames=["a", "b"]), ctx, 1) == [{"a": "1", "b": "2"}]
    assert read_all(CsvReader(path, fieldnames=["a", "b"]), context(ctx.state)) == [
        {"a": "3", "b": "4"}
    ]


def test_csv_reader_names_the_line_of_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('a,b\n1,"x\ny"\n2,3,4\n')
    with pytest.raises(ValueError, match=r"line 4: 3 fields, expected 2"):
        read_all(CsvReader(path), context())
    path.write_text('a,b\n1,2\n3,"unterminated\n4,5\n')
    with pytest.raises(csv.Error, match=r"record starting at line 3: unexpected end of data"):
        read_all(CsvReader(path), context())


def test_csv_reader_refuses_a_file_shorter_than_its_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a\n1\n2\n")
    ctx = context()
    take(CsvReader(path), ctx, 2)
    path.write_text("a\n")
    with pytest.raises(ValueError, match="checkpoint"):
        read_all(CsvReader(path), context(ctx.state))


def test_csv_reader_refuses_an_encoding_whose_newline_is_not_one_byte(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ASCII-compatible"):
        CsvReader(tmp_path / "in.csv", encoding="utf-16")


def test_empty_csv_file_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("")
    assert read_all(CsvReader(path), context()) == []


def test_json_lines_reader_skips_blank_lines_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    values: list[Any] = [{"a": 1}, [1, 2], "ünï", None, 3.5, {"nested": {"x": [True]}}]
    body = "\n".join(json.dumps(v, ensure_ascii=False) for v in values)
    path.write_text("\n" + body.replace("\n", "\n  \n", 2) + "\n\n")
    for commit in range(len(values) + 1):
        ctx = context()
        first = take(JsonLinesReader(path), ctx, commit, lost=1)
        assert first + read_all(JsonLinesReader(path), context(ctx.state)) == values


def test_json_lines_reader_names_the_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n{"a": 3}\n')
    reader = JsonLinesReader(path)
    reader.open(context())
    items = reader(context())
    assert next(items) == {"a": 1}
    with pytest.raises(ValueError, match=r"in\.jsonl, line 3: not valid JSON"):
        next(items)
    reader.close()


def test_iterable_reader_rereads_its_source_and_refuses_one_shot_iterators() -> None:
    assert IterableReader.resumes is False
    reader = IterableReader([1, 2, 3])
    assert list(reader(context())) == list(reader(context())) == [1, 2, 3]

    def numbers() -> Any:
        yield from range(3)

    assert list(IterableReader(numbers)(context())) == [0, 1, 2]
    with pytest.raises(TypeError, match="one-shot iterator"):
        IterableReader(numbers())


def write_chunks(
    writer: Any, ctx: StepContext, committed: list[list[Any]], lost: list[Any]
) -> None:
    """Open, write and checkpoint each chunk, then write ``lost`` (reaching disk) and "crash"."""
    writer.open(ctx)
    for chunk in committed:
        writer(chunk)
        writer.update(ctx)
    writer(lost)
    writer.close()


def test_csv_writer_truncates_the_uncommitted_tail_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("stale content\n")
    rows = [{"id": n, "text": f"row\n{n}"} for n in range(7)]
    ctx = context()
    write_chunks(CsvWriter(path), ctx, [rows[0:2], rows[2:4]], rows[4:6])
    assert ctx.state["writer"] == {
        "size": ctx.state["writer"]["size"],
        "fieldnames": ["id", "text"],
    }
    assert path.stat().st_size > ctx.state["writer"]["size"]

    restarted = context(ctx.state)
    write_chunks(CsvWriter(path), restarted, [rows[4:7]], [])
    expected = [{"id": str(r["id"]), "text": r["text"]} for r in rows]
    assert read_all(CsvReader(path), context()) == expected
    assert path.read_bytes().startswith(b'id,text\r\n0,"row\n0"\r\n')


def test_csv_writer_crash_before_the_first_commit_starts_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    ctx = context()
    write_chunks(CsvWriter(path, fieldnames=["a", "b"], delimiter=";"), ctx, [], [[1, 2]])
    assert "writer" not in ctx.state
    write_chunks(CsvWriter(path, fieldnames=["a", "b"], delimiter=";"), context({}), [[[3, 4]]], [])
    assert path.read_bytes() == b"a;b\r\n3;4\r\n"


def test_csv_writer_rows_without_header_and_bad_items(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    writer = CsvWriter(path, header=False, lineterminator="\n")
    writer.open(context())
    writer([["a", 1], ("b", None)])
    writer.close()
    assert path.read_text() == "a,1\nb,\n"
    writer = CsvWriter(path)
    writer.open(context())
    with pytest.raises(TypeError, match="needs fieldnames"):
        writer([["a", 1]])
    writer([])
    with pytest.raises(TypeError, match="dicts or sequences"):
        writer(["text"])
    writer([{"a": 1, "b": 2}])
    with pytest.raises(ValueError, match=r"keys \['c'\] not in the fieldnames"):
        writer([{"a": 1, "c": 3}])
    writer.close()
    with pytest.raises(RuntimeError, match="not open"):
        writer([{"a": 1}])


def test_json_lines_writer_truncates_the_uncommitted_tail_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    items: list[Any] = [{"n": n, "s": "ü\n"} for n in range(5)]
    writer = JsonLinesWriter(path, key="out")
    ctx = context()
    write_chunks(writer, ctx, [items[:2]], items[2:4])
    assert set(ctx.state) == {"out"}
    write_chunks(writer, context(ctx.state), [items[2:4], items[4:]], [])
    assert read_all(JsonLinesReader(path), context()) == items
    assert path.read_text(encoding="utf-8").count("\n") == 5


def test_file_writer_refuses_a_missing_or_shorter_file_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    ctx = context()
    write_chunks(JsonLinesWriter(path), ctx, [[1, 2]], [])
    path.write_text("1\n")
    with pytest.raises(ValueError, match="shorter than its checkpoint"):
        JsonLinesWriter(path).open(context(ctx.state))
    path.unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        JsonLinesWriter(path).open(context(ctx.state))


def test_reader_and_writer_of_one_step_share_the_state(tmp_path: Path) -> None:
    """A whole step: copy a JSONL file to CSV in chunks of 3, dying once mid-chunk."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.csv"
    source.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(10)))

    def run(ctx: StepContext, chunks: int) -> None:
        reader, writer = JsonLinesReader(source), CsvWriter(target)
        reader.open(ctx)
        writer.open(ctx)
        items = reader(ctx)
        for _ in range(chunks):
            chunk = list(itertools.islice(items, 3))
            if not chunk:
                break
            writer(chunk)
            reader.update(ctx)
            writer.update(ctx)
        writer(list(itertools.islice(items, 2)))  # the chunk the crash interrupts
        reader.close()
        writer.close()

    ctx = context()
    run(ctx, 2)
    assert set(ctx.state) == {"reader", "writer"}
    run(context(ctx.state), 10)
    assert [r["n"] for r in read_all(CsvReader(target), context())] == [str(n) for n in range(10)]


def test_csv_writer_chunk_that_fails_to_encode_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    writer = CsvWriter(path, lineterminator="\n")
    writer.open(context())
    with pytest.raises(TypeError, match="dicts or sequences"):
        writer([{"a": 1}, 42])
    writer([{"a": 2}])  # the header is still written, with the first chunk that succeeds
    writer.close()
    assert path.read_text() == "a\n2\n"
