"""Fail when a function or method under the given paths is longer than the limit.

    python scripts/check_function_length.py [--max 60] [PATH ...]     (default: plugins)

A function's length is its lines from ``def`` (decorators excluded) to its last line, docstring
and comments included: what a reader has to hold at once. Prints each offender as
``file:line: name is N lines (max M)`` and exits 1 when there is one.
"""

import argparse
import ast
import pathlib
import sys


def python_files(paths):
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            yield path


def long_functions(path, limit):
    """``[(line, qualified name, length)]`` of the functions in one file longer than ``limit``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    found.append((child.lineno, name, length))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=60, help="the most lines a function may have (60)")
    parser.add_argument("paths", nargs="*", default=["plugins"])
    args = parser.parse_args(argv)
    offenders = 0
    for path in python_files(args.paths):
        for line, name, length in long_functions(path, args.max):
            print("%s:%d: %s is %d lines (max %d)" % (path, line, name, length, args.max))
            offenders += 1
    if offenders:
        print("%d function%s longer than %d lines" % (offenders, "" if offenders == 1 else "s", args.max),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
