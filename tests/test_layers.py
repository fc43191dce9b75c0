"""The package's layers (issue 34): the sub-packages and top-level modules import each other one way only, in the
order of :data:`LAYERS` (docs/DEVELOPING.md, "Layers"), counting imports inside functions (a late import is still
a dependency)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import deepsee

ROOT = Path(deepsee.__file__).parent

#: Lowest first; a unit may import units of its own layer or below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("constants", "labels", "runs", "shipped_sha256"),   # no kit imports but each other
    ("config",),
    ("weights",),                                        # pretrained files: registry, checksums, fetch
    ("viz",),                                            # plotting: arrays and label sets in, figures out
    ("data",),
    ("models",),
    ("metrics",),
    ("losses",),
    ("seg",),
    ("train",),
    ("explore",),
    ("paper",),                                          # what each figure's rows show
    ("eval",),                                           # tables and protocols (style usage, ablation, scenes)
    ("pipeline", "showcase", "reproduce", "apps", "cli"),
]


def unit(module: str) -> str:
    """``deepsee.eval.style_usage`` -> ``eval``; the package root -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def import_graph(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """``{(importing unit, imported unit): ["file:line", ...]}`` over every module of the package, every
    ``import``/``from ... import`` anywhere in it (module level or inside functions)."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts)
        package = module[: -len(".__init__")] if module.endswith(".__init__") else module.rsplit(".", 1)[0]
        src = unit(module if not module.endswith(".__init__") or package != "deepsee" else "deepsee")
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                name = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
                targets = [f"{name}.{a.name}" for a in node.names] if name == "deepsee" else [name]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                dst = unit(t) if t.startswith("deepsee.") else None
                if dst and src and dst != src and dst != "__version__":
                    edges[(src, dst)].append(f"{rel}.py:{node.lineno}")
    return edges


def cycles(edges) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(graph) | {b for _, b in edges}):
        if v not in index:
            visit(v)
    return out


def test_the_units_form_no_cycle():
    found = cycles(import_graph())
    assert not found, f"import cycles between {found}"


def test_every_import_goes_down_the_layers():
    rank = {u: i for i, layer in enumerate(LAYERS) for u in layer}
    edges = import_graph()
    units = {u for e in edges for u in e}
    assert units <= set(rank), f"units without a layer: {sorted(units - set(rank))} (add them to LAYERS)"
    up = {f"{a} -> {b}": where[:3] for (a, b), where in edges.items() if rank[b] > rank[a]}
    assert not up, f"imports that go up the layers: {up}"
    assert len(edges) > 40                           # the graph is read (a parser that finds nothing would pass)


def test_the_checker_finds_a_cycle_and_an_upward_import(tmp_path):
    """The two checks can fail: a package whose data imports eval (late, in a function) and eval imports data."""
    pkg = tmp_path / "deepsee"
    (pkg / "data").mkdir(parents=True)
    (pkg / "eval").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("def f():\n    from ..eval import g\n")
    (pkg / "eval" / "__init__.py").write_text("from ..data import f\n\ndef g():\n    pass\n")
    edges = import_graph(pkg)
    assert set(edges) == {("data", "eval"), ("eval", "data")}
    assert edges[("data", "eval")] == ["deepsee/data/__init__.py:2"]
    assert cycles(edges) == [["data", "eval"]]


def late_imports(root: Path = ROOT) -> list[tuple[str, int, str]]:
    """``(file, line, text)`` of every import inside a function or class body (module-level ``try``/``if``
    guards count as the top)."""
    out = []
    for f in sorted(root.rglob("*.py")):
        lines = f.read_text().splitlines()
        tree = ast.parse("\n".join(lines), str(f))
        top = {id(n) for st in tree.body for n in ast.walk(st) if not isinstance(st, (ast.FunctionDef, ast.ClassDef,
                                                                                     ast.AsyncFunctionDef))}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                out.append((str(f.relative_to(root.parent)), node.lineno, lines[node.lineno - 1]))
    return out


def test_imports_sit_at_the_top_or_say_why_not():
    """An import inside a function is a dependency all the same: imports sit at the top of modules, except an
    optional or heavy dependency, whose line says so (a comment)."""
    found = late_imports()
    unexplained = [f"{f}:{n}: {text.strip()}" for f, n, text in found if "#" not in text]
    assert not unexplained, f"late imports without a reason: {unexplained}"
    assert len(found) < 30                            # the few optional or heavy ones


def test_the_late_import_check_can_fail(tmp_path):
    pkg = tmp_path / "deepsee"
    pkg.mkdir()
    (pkg / "m.py").write_text("import os\n\ntry:\n    import yaml\nexcept ImportError:\n    yaml = None\n\n"
                              "def f():\n    import json\n    import lpips   # optional\n")
    assert [(n, t.strip()) for _, n, t in late_imports(pkg)] == [(9, "import json"), (10, "import lpips   # optional")]
