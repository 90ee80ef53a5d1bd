"""Draw Vigil's layers from the code itself: which top-level package imports which.

    python scripts/architecture.py           # print the Mermaid diagram
    python scripts/architecture.py --check   # exit 1 if docs/architecture.md shows another one

The graph comes from grimp (the import graph import-linter checks), so the picture in
docs/architecture.md is the code's, not a drawing kept by hand. Tests inside each package
(``vigil.<stage>.tests``) are left out: they may import the lab's simulators.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- architecture:begin (scripts/architecture.py writes this block) -->"
END = "<!-- architecture:end -->"
ORDER = (
    "core", "sdk", "ingest", "profile", "stats", "detect", "incidents", "report", "alert",
    "store", "pipeline", "lab", "server", "bench", "cli",
)  # fmt: skip


def package_edges() -> set[tuple[str, str]]:
    """``(importer, imported)`` pairs of top-level packages, direct imports only."""
    graph = grimp.build_graph("vigil")
    edges: set[tuple[str, str]] = set()
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2 or "tests" in parts:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")
            if len(other) >= 2 and other[0] == "vigil" and other[1] != parts[1]:
                edges.add((parts[1], other[1]))
    return edges


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The transitive reduction: drop ``a -> c`` when ``a`` reaches ``c`` through another
    package anyway (the layers are acyclic, which import-linter checks)."""

    def reaches(start: str, goal: str, skip: tuple[str, str]) -> bool:
        seen, todo = {start}, [start]
        while todo:
            here = todo.pop()
            for a, b in edges:
                if a == here and (a, b) != skip and b not in seen:
                    if b == goal:
                        return True
                    seen.add(b)
                    todo.append(b)
        return False

    return {edge for edge in edges if not reaches(edge[0], edge[1], edge)}


def mermaid(edges: set[tuple[str, str]]) -> str:
    """A bottom-up Mermaid flowchart of the reduced graph: an arrow means "imports"."""
    rank = {name: i for i, name in enumerate(ORDER)}
    lines = ["```mermaid", "flowchart TD"]
    for importer, imported in sorted(reduce(edges), key=lambda e: (-rank[e[0]], -rank[e[1]])):
        lines.append(f"    {importer} --> {imported}")
    lines.append("```")
    return "\n".join(lines)


def documented() -> str:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def main(argv: list[str]) -> int:
    drawn = mermaid(package_edges())
    if "--check" in argv:
        if documented() != drawn:
            print("docs/architecture.md is out of date: run python scripts/architecture.py --write")
            return 1
        return 0
    if "--write" in argv:
        text = DOC.read_text(encoding="utf-8")
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:start] + "\n" + drawn + "\n" + text[end:], encoding="utf-8")
        return 0
    print(drawn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
