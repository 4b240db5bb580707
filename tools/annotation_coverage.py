"""How much of dlcore's public API carries type annotations.

    python tools/annotation_coverage.py            # totals and the files not yet fully annotated
    python tools/annotation_coverage.py --list     # ... and each function still missing some

Counts the functions a user calls: module-level functions and methods of public classes whose
names have no leading underscore, plus __init__, forward and __call__; a function with
``@overload`` declarations counts once (its implementation). A function counts as annotated when
every parameter but self/cls has an annotation and it has a return annotation (__init__ needs
none). Not counted: the benchmark harness ``dlcore/bench/`` (a command-line tool,
``python -m dlcore.bench``, not an API).
"""
import ast
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "python" / "dlcore"
ALWAYS_PUBLIC = ("__init__", "forward", "__call__")
EXCLUDED = ("bench",)      # package subdirectories outside the count (see the docstring)


def _is_overload(node):
    return any((isinstance(d, ast.Name) and d.id == "overload")
               or (isinstance(d, ast.Attribute) and d.attr == "overload") for d in node.decorator_list)


def _public_functions(tree):
    def visit(body, in_class, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from visit(node.body, True, prefix + node.name + ".")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _is_overload(node):
                if not node.name.startswith("_") or node.name in ALWAYS_PUBLIC:
                    yield prefix + node.name, node, in_class
            elif isinstance(node, (ast.If, ast.Try)):
                yield from visit(node.body + node.orelse, in_class, prefix)
    yield from visit(tree.body, False, "")


def _annotated(node, in_class):
    a = node.args
    params = a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p]
    if in_class and params and params[0].arg in ("self", "cls"):
        params = params[1:]
    has_return = node.returns is not None or node.name == "__init__"
    return has_return and all(p.annotation is not None for p in params)


def main():
    listing = "--list" in sys.argv
    total = done = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in EXCLUDED:
            continue
        funcs = list(_public_functions(ast.parse(path.read_text())))
        missing = [(q, n.lineno) for q, n, in_class in funcs if not _annotated(n, in_class)]
        total += len(funcs)
        done += len(funcs) - len(missing)
        if missing:
            print(f"{str(rel):40s} {len(funcs) - len(missing):4d} / {len(funcs):4d}")
            if listing:
                for q, line in missing:
                    print(f"    {rel}:{line}  {q}")
    print(f"annotated public functions: {done} / {total}  (not counted: {', '.join(d + '/' for d in EXCLUDED)})")


if __name__ == "__main__":
    main()
