"""scripts/check_function_length.py: the 60-line limit scripts/lint enforces on plugins/."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_function_length.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def function(name, lines, indent=""):
    body = "".join("%s    x = %d\n" % (indent, n) for n in range(lines - 1))
    return "%sdef %s():\n%s" % (indent, name, body)


def test_a_function_over_the_limit_is_named_with_file_and_line(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import os\n\n" + function("short", 60) + "\n\nclass K:\n" + function("long", 61, "    "))
    result = run("--max", "60", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout == "%s:66: K.long is 61 lines (max 60)\n" % source


def test_the_plugins_folder_holds_no_function_over_60_lines():
    result = run(str(ROOT / "plugins"))
    assert result.returncode == 0, result.stdout
