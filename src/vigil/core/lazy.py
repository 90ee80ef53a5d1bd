"""Package exports imported on first use (PEP 562), so importing a package costs only what is used.

A stage's ``__init__`` lists its public names twice on purpose: under ``TYPE_CHECKING``, as
plain imports for type checkers and the layer contracts, and in the table given to
:func:`lazy_exports`, which imports each name's module the first time the name is read.
``vigil profiles`` then loads SQLAlchemy and the profile codec, not SciPy, httpx and every
detector. ``tests/test_lazy_exports.py`` checks that both lists agree in every package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a module to its names.

    A name is imported from its module on first read and kept in the package, so later reads are
    plain attribute lookups. A submodule's name (``vigil.stats.change``) imports it as ``import``
    would; anything else is an ``AttributeError``, as for any module. A name its module shares
    (a function ``f`` in a module ``f``) is imported at once, and with it that module, whenever
    the package is imported: no package does this (``tests/test_lazy_exports.py``).
    """
    owner = {name: module for module, names in exports.items() for name in names}
    for name, module in owner.items():
        if module == f"{package}.{name}":
            # Importing the module would set the package's attribute to the module itself,
            # shadowing the function of the same name: import it now, as a plain import would.
            setattr(sys.modules[package], name, getattr(importlib.import_module(module), name))

    def attribute(name: str) -> Any:
        module = owner.get(name)
        if module is None:
            if name.startswith("__") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def names() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return attribute, names
