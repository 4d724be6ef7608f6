"""terraform fmt itself judges the parser and the rewrite: what it refuses, the parser refuses; a file it leaves alone
before an edit, it leaves alone after (the corpus, the HCL 2 forms, aligned endpoints maps). The same inputs'
pure checks are in tests/unit (test_backend_hcl_syntax.py, test_backend_rewrite.py, test_backend_corpus.py)."""

import collections
import os
import re
import subprocess

from tests.unit.plugins.module_utils.test_backend_hcl_syntax import HCL2_FORMS
from tests.unit.plugins.module_utils.test_backend_rewrite import rewrite
from tests.unit.plugins.modules.test_backend_corpus import ROLLBACK_TABLE, backend_hcl, read, run_hcl, run_module
# The corpus and forms fixtures, shared with the unit tests of the same files.
from tests.unit.plugins.modules.test_backend_corpus import corpus, forms  # noqa: F401 pylint: disable=unused-import

ENDPOINT_KEYS = [["s3", "dynamodb"], ["dynamodb", "s3"], ["iam", "dynamodb", "sts"], ["sts", "s3", "sso", "dynamodb"]]


def _endpoint_lines(keys, comments=False, commas=False):
    lines = []
    for key in keys:
        line = '%s = "https://%s.example.com"%s' % (key, key, "," if commas else "")
        lines.append(line + (" # %s endpoint" % key if comments else ""))
    return lines


def _endpoint_variants():
    """(name, file name, text before terraform fmt): endpoints maps in every layout a file may use."""
    variants = []
    for index, keys in enumerate(ENDPOINT_KEYS):
        inner = "".join("      %s\n" % line for line in _endpoint_lines(keys))
        variants.append(("object%d" % index, "backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "b"\n'
                         '    dynamodb_table = "t"\n    endpoints = {\n%s    }\n    key = "k"\n  }\n}\n' % inner))
        commented = "".join("      %s\n" % line for line in _endpoint_lines(keys, comments=True, commas=True))
        variants.append(("commented%d" % index, "backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "b"\n'
                         '    dynamodb_table = "t"\n    endpoints = {\n%s    }\n  }\n}\n' % commented))
        variants.append(("block%d" % index, "backend.tf", 'terraform {\n  backend "s3" {\n    bucket = "b"\n'
                         '    dynamodb_table = "t"\n    endpoints {\n%s    }\n  }\n}\n' % inner))
        nested = "".join("        %s\n" % line for line in _endpoint_lines(keys))
        variants.append(("terragrunt%d" % index, "terragrunt.hcl", 'remote_state {\n  backend = "s3"\n  config = {\n'
                         '    bucket = "b"\n    dynamodb_table = "t"\n    endpoints = {\n%s    }\n  }\n}\n' % nested))
    gap = 'terraform {\n  backend "s3" {\n    dynamodb_table = "t"\n    endpoints = {\n      s3 = "x"\n\n' \
          '      # the lock table\n      dynamodb = "y"\n      sts = "z"\n    }\n  }\n}\n'
    variants.append(("gap", "backend.tf", gap))
    return variants


def test_terraform_agrees_on_every_form(terraform_bin, tmp_path):
    """One `terraform fmt` over every form: it reports a syntax error in exactly the invalid ones."""
    for index, (_name, text, _valid) in enumerate(HCL2_FORMS):
        (tmp_path / ("form%02d.tf" % index)).write_text(text)
    proc = subprocess.run([terraform_bin, "fmt", "-no-color", "-check", "-list=false", "-write=false", "."],
                          cwd=str(tmp_path), capture_output=True, text=True, check=False,
                          env=dict(os.environ, CHECKPOINT_DISABLE="1"))
    refused = set(int(n) for n in re.findall(r"on form(\d+)\.tf line", proc.stderr))
    assert refused == set(i for i, case in enumerate(HCL2_FORMS) if not case[2]), proc.stderr


def _fmt(terraform_bin, directory, *args):
    return subprocess.run([terraform_bin, "fmt", "-no-color"] + list(args) + ["."], cwd=str(directory),
                          capture_output=True, text=True, check=False, env=dict(os.environ, CHECKPOINT_DISABLE="1"))


def test_entries_left_in_an_aligned_map_are_aligned_as_terraform_fmt_does(terraform_bin, tmp_path):
    variants = _endpoint_variants()
    before, after_dir = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after_dir.mkdir()
    for name, _file, text in variants:
        (before / (name + ".tf")).write_text(text)
    assert _fmt(terraform_bin, before).returncode == 0          # terraform fmt writes the formatted inputs
    assert _fmt(terraform_bin, before, "-check").returncode == 0
    for name, file_name, _text in variants:
        formatted = (before / (name + ".tf")).read_text()
        result = rewrite(formatted, "lockfile", name=file_name)
        change = result.changes[0]
        assert "endpoints.dynamodb" in change["removed"] and "dynamodb_table" in change["removed"], name
        assert result.after.count("dynamodb") == 0, name
        (after_dir / (name + ".tf")).write_text(result.after)
    check = _fmt(terraform_bin, after_dir, "-check", "-list=true")
    assert check.stdout.split() == [], check.stdout


def test_formatted_files_stay_formatted(corpus, terraform_bin):
    """terraform fmt itself: a file it leaves alone before the edit, it leaves alone after (each mode)."""
    def formatted(data):
        proc = subprocess.run([terraform_bin, "fmt", "-"], input=data, capture_output=True, check=False,
                              env=dict(os.environ, CHECKPOINT_DISABLE="1"))
        return proc.returncode == 0 and proc.stdout.rstrip(b"\n") == data.rstrip(b"\n")

    candidates = [e for e in corpus if not e["copy"].endswith(".json") and formatted(e["original"])]
    assert len(candidates) >= 30
    checked = collections.Counter()
    for mode in ("lockfile", "dual", "dynamodb"):
        for entry in candidates:
            with open(entry["copy"], "wb") as handle:
                handle.write(entry["original"])
        if mode == "dynamodb":
            run_hcl(candidates, "lockfile")
        result = run_hcl(candidates, mode)
        for entry in candidates:
            if any(c["file"] == entry["copy"] for c in result["changes"]):
                assert formatted(read(entry["copy"])), (mode, entry["file"], read(entry["copy"]).decode())
                checked[mode] += 1
    assert checked == {"lockfile": 20, "dual": 20, "dynamodb": 20}


def test_the_hcl2_forms_stay_formatted(forms, terraform_bin, tmp_path):
    """Every sample is terraform fmt clean, before and after each mode (.hcl files checked under a .tf name)."""
    def unformatted(entries, where):
        where.mkdir()
        for index, entry in enumerate(entries):
            (where / ("f%d.tf" % index)).write_bytes(read(entry["copy"]))
        proc = subprocess.run([terraform_bin, "fmt", "-no-color", "-check", "-list=true", "."], cwd=str(where),
                              capture_output=True, text=True, check=False, env=dict(os.environ, CHECKPOINT_DISABLE="1"))
        assert "Error" not in proc.stderr, proc.stderr
        return [entries[int(name[1:-3])]["file"] for name in proc.stdout.split()]

    assert unformatted(forms, tmp_path / "before") == []
    for mode in ("lockfile", "dual", "dynamodb"):
        for entry in forms:
            with open(entry["copy"], "wb") as handle:
                handle.write(entry["original"])
        if mode == "dynamodb":
            run_module(backend_hcl, dict(path=[e["copy"] for e in forms], lock_mode="lockfile"))
        args = dict(path=[e["copy"] for e in forms], lock_mode=mode, dynamodb_table=ROLLBACK_TABLE)
        assert run_module(backend_hcl, args)["changed"] is True
        assert unformatted(forms, tmp_path / mode) == [], mode
