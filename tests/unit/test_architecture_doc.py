"""docs/architecture.md matches plugins/module_utils: every file is named, every file its decision table names exists."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")


def _doc():
    with open(os.path.join(ROOT, "docs", "architecture.md")) as handle:
        return handle.read()


def _files():
    """Every module_utils file as the doc names it: ``clock.py``, ``_backend/discovery.py``."""
    found = []
    for directory, _dirs, names in os.walk(MODULE_UTILS):
        for name in names:
            if name.endswith(".py") and name != "__init__.py":
                found.append(os.path.relpath(os.path.join(directory, name), MODULE_UTILS))
    return sorted(found)


def test_no_module_utils_file_is_much_over_500_lines():
    sizes = dict((name, sum(1 for _line in open(os.path.join(MODULE_UTILS, name)))) for name in _files())
    assert sorted(name for name, size in sizes.items() if size > 560) == [], sizes


def test_every_module_utils_file_is_named():
    text = _doc()
    assert [name for name in _files() if "`%s`" % name not in text] == []


def test_every_file_of_the_decision_table_exists():
    text = _doc()
    lines = text[text.index("## Where each decision lives"):].splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start + 2:]:  # after the header and its rule
        if not line.startswith("| "):
            break
        rows.append(line)
    named = set(re.findall(r"`([\w/]+\.py)`", "\n".join(row.rsplit(" | ", 1)[-1] for row in rows)))
    assert named and sorted(named - set(_files())) == []
