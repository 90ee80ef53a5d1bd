"""Packages whose exports load on first use (``vigil.core.lazy``) export what they say they do.

Each such ``__init__`` lists its names twice, for type checkers and for the loader; these tests
read both lists from the source and check that they agree, and that every name resolves to the
object its module defines.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import vigil
from vigil.core.lazy import lazy_exports
from vigil.profile import ProfileSpec, profile_batch
from vigil.profile.synthetic import synthetic_batch
from vigil.store import SqlStore

SRC = Path(vigil.__file__).parent


def lazy_packages() -> list[Path]:
    return sorted(
        p for p in SRC.rglob("__init__.py") if "lazy_exports(" in p.read_text(encoding="utf-8")
    )


def declared(path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]], set[str]]:
    """(module, name) pairs imported for type checkers, those given to the loader, and __all__."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed: set[tuple[str, str]] = set()
    loaded: set[tuple[str, str]] = set()
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                typed |= {(stmt.module, alias.name) for alias in stmt.names}
        elif isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            exported = set(ast.literal_eval(node.value))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            table = ast.literal_eval(node.value.args[1])
            loaded = {(module, name) for module, names in table.items() for name in names}
    return typed, loaded, exported


def test_there_are_lazy_packages() -> None:
    names = {p.parent.name for p in lazy_packages()}
    assert {"profile", "stats", "detect", "incidents", "alert", "ingest", "store"} <= names


@pytest.mark.parametrize("path", lazy_packages(), ids=lambda p: p.parent.name)
def test_both_lists_of_a_lazy_package_agree(path: Path) -> None:
    typed, loaded, exported = declared(path)
    assert typed == loaded
    assert {name for _, name in loaded} == exported


@pytest.mark.parametrize("path", lazy_packages(), ids=lambda p: p.parent.name)
def test_every_lazy_name_is_its_modules_object(path: Path) -> None:
    package = ".".join(path.parent.relative_to(SRC.parent).parts)
    loaded = declared(path)[1]
    imported = importlib.import_module(package)
    for module, name in sorted(loaded):
        assert getattr(imported, name) is getattr(importlib.import_module(module), name)
    assert {name for _, name in loaded} <= set(dir(imported))


def test_a_missing_name_is_an_attribute_error_and_a_submodule_imports() -> None:
    attribute, names = lazy_exports("vigil.stats", {"vigil.stats.series": ("Series",)})
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        attribute("nothing_here")
    assert attribute("change") is importlib.import_module("vigil.stats.change")
    assert "Series" in names()


def test_listing_profiles_loads_no_detector_http_or_templates() -> None:
    """``vigil profiles`` opens the store and reads profile headers: no SciPy, no httpx, no Jinja2,
    no detector, no pyarrow compute kernels beyond what the codec needs."""
    heavy = ("scipy", "httpx", "jinja2", "vigil.detect.consensus", "vigil.stats.change", "pandas")
    code = (
        "from vigil.store import SqlStore; from vigil.profile import ProfileSummary; "
        "store = SqlStore('sqlite://'); store.close()"
    )
    assert loaded_after(code, heavy) == []


@pytest.mark.parametrize("path", lazy_packages(), ids=lambda p: p.parent.name)
def test_no_lazy_name_shares_its_modules_name(path: Path) -> None:
    """Such a name must be imported with its package (``vigil.core.lazy``), and its module
    with it, in every process that imports anything of that package."""
    shared = {(m, n) for m, n in declared(path)[1] if m.rsplit(".", 1)[1] == n}
    assert shared == set()


def test_reading_a_stored_store_loads_no_sketch_stats_or_detector(tmp_path: Path) -> None:
    """``vigil profiles`` and ``vigil incidents`` on an existing store: they read profile headers
    and stored incidents, so neither DataSketches, the stats stage nor a detector's arrays load
    (NumPy comes only with pyarrow's Zstandard codec, which the header needs), nor PostgreSQL's
    dialect on a SQLite store, nor ingest's validation or the alert channels, which only a read of
    quarantined rows or deliveries needs."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    batch = synthetic_batch(1, 50, start=datetime(2026, 12, 1, tzinfo=UTC), span=timedelta(hours=1))
    store = SqlStore(url)  # creates the schema: Alembic and its imports stay in this process
    store.profiles.put(profile_batch(batch, ProfileSpec()).values(), now=datetime.now(UTC))
    store.close()
    heavy = (
        "datasketches",
        "vigil.profile.profile",
        "vigil.profile.column",
        "vigil.stats",
        "vigil.detect.base",
        "vigil.incidents.attribution",
        "vigil.ingest.batch",
        "alembic",
        "sqlalchemy.dialects.postgresql",
        "vigil.ingest.validation",
        "vigil.alert.channels",
    )
    code = (
        "from vigil.store import SqlStore; from vigil.profile import ProfileSummary; "
        f"store = SqlStore({url!r}, create=False); "
        "(record,) = store.profiles.records(model='ranker'); store.incidents.get(); "
        "store.close(); assert ProfileSummary.from_bytes(record.blob).rows == 50"
    )
    assert loaded_after(code, heavy) == []


def loaded_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` that a fresh interpreter holds after
    running ``code``."""
    shown = f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    out = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\n{shown}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: list[str] = json.loads(out)
    return found
