"""docs/architecture.md matches plugins/module_utils: every file is named, every file its decision table names exists."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")


def _doc():
    with open(os.path.join(ROOT, "docs", "architecture.md")) as handle:
        return handle.read()


def _files():
    return sorted(name for name in os.listdir(MODULE_UTILS) if name.endswith(".py") and name != "__init__.py")


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
    named = set(re.findall(r"`(\w+\.py)`", "\n".join(row.rsplit(" | ", 1)[-1] for row in rows)))
    assert named and sorted(named - set(_files())) == []
