"""Unit tests of the pure core: no database, no sleeping."""

from __future__ import annotations

import contextlib
import warnings

# Hypothesis imports libcst only to write a patch for a failing example, and libcst trips a
# DeprecationWarning (mypy_extensions.TypedDict) that our warnings-as-errors turns into an
# INTERNALERROR hiding the real failure. Import it once here, quietly.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401
