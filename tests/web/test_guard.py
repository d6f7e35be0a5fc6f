"""The web gate's pure parts: JSON depth, bearer check, mount prefix (no server)."""

from __future__ import annotations

from rota.web.auth import Tokens, bearer
from rota.web.guard import relative_path, too_deep


def test_depth_counts_brackets_outside_strings() -> None:
    assert not too_deep(b'{"a": [1, 2, {"b": []}]}', 4)
    assert too_deep(b'{"a": [1, 2, {"b": []}]}', 3)
    assert not too_deep(b'{"a": "[[[[[[[[[["}', 2)
    assert not too_deep(b'{"a": "\\"[[[[[[[[["}', 2)
    assert too_deep(b"[" * 65, 64) and not too_deep(b"[" * 64 + b"]" * 64, 64)
    assert not too_deep(b"[]" * 1000, 1)


def test_bearer_and_its_role() -> None:
    tokens = Tokens("tok", "read-tok")
    assert bearer([(b"authorization", b"Bearer tok")]) == "tok"
    assert bearer([(b"Authorization", b"bearer tok ")]) == "tok"
    assert bearer([(b"authorization", b"Basic tok")]) is None
    assert bearer([]) is None
    assert tokens.role_of("tok") == "admin"
    assert tokens.role_of("read-tok") == "read"
    assert tokens.role_of("tok2") is None and tokens.role_of("") is None
    assert Tokens("tok").role_of("read-tok") is None


def test_relative_path_under_a_mount() -> None:
    assert relative_path({"path": "/rota/api/health", "root_path": "/rota"}) == "/api/health"
    assert relative_path({"path": "/api/health", "root_path": ""}) == "/api/health"
