"""Backend shapes judged by the real terraform (the rest of the shapes, without a process:
tests/unit/plugins/modules/test_backend_shapes.py): terraform fmt agrees with each rewritten text, and what
terraform rejects (typographic quotes) is a failure naming file and line.
"""

import json
import os
import subprocess

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import RootError, resolve_root
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import run_module
from tests.unit.plugins.modules.test_backend_shapes import (
    BACKEND_TFVARS, CURLY, LOCK_TABLE, LOCK_TABLE_DUAL, LOCK_TABLE_LOCKFILE, TOFU, VARIABLES, hcl_backend, read, write)
# The roots the unit tests of the same shapes use.
from tests.unit.plugins.modules.test_backend_shapes import tfvars_root, tofu_roots  # noqa: F401 pylint: disable=unused-import


def fmt_check(terraform_bin, tmp_path, texts):
    """terraform fmt -check over HCL texts (each as a .tf or .tfvars file): the names it would reformat."""
    folder = tmp_path / "fmt"
    folder.mkdir(exist_ok=True)
    for index, (name, text) in enumerate(texts):
        suffix = ".tfvars" if name.endswith(".tfvars") else ".tf"
        (folder / ("%02d_%s%s" % (index, os.path.basename(name).replace(".", "_"), suffix))).write_text(text)
    proc = subprocess.run([terraform_bin, "fmt", "-check", "-list=true", "-no-color", "."], cwd=str(folder),
                          capture_output=True, text=True, check=False, env=dict(os.environ, CHECKPOINT_DISABLE="1"))
    assert proc.returncode in (0, 3), proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize("mode, table, expected", [
    ("lockfile", None, 'bucket       = "acme-state"\nkey          = "app/terraform.tfstate"\nregion       = "eu-west-1"\n'
                       'use_lockfile = true\n'),
    ("dual", None, BACKEND_TFVARS + 'use_lockfile   = true\n'),
])
def test_a_backend_tfvars_is_rewritten_walked_or_named_and_terraform_fmt_agrees(
        terraform_bin, tmp_path, tfvars_root, mode, table, expected):
    result = run_module(backend_hcl, dict(path=[str(tfvars_root)], lock_mode=mode))
    assert [f["path"] for f in result["files"]] == [str(tfvars_root / "backend.tfvars")]
    assert read(str(tfvars_root / "backend.tfvars")) == expected
    assert read(str(tfvars_root / "terraform.tfvars")) == VARIABLES
    assert read(str(tfvars_root / "envs/prod.tfvars")) == VARIABLES
    named = write(tmp_path, "named/prod.tfvars", BACKEND_TFVARS)   # not called *backend*: read because it is named
    assert run_module(backend_hcl, dict(path=[named], lock_mode=mode))["changed"] is True
    assert read(named) == expected
    settings = hcl_backend(expected)
    assert settings["use_lockfile"] is True and ("dynamodb_table" in settings) == (mode == "dual")
    assert fmt_check(terraform_bin, tmp_path, [("before.tfvars", BACKEND_TFVARS), ("after.tfvars", expected)]) == []


def test_typographic_quotes_are_a_failure_naming_file_and_line(terraform_bin, tmp_path):
    path = write(tmp_path, "app/backend.tf", CURLY)
    proc = subprocess.run([terraform_bin, "fmt", "-check", "-no-color", path], capture_output=True, text=True,
                          check=False, env=dict(os.environ, CHECKPOINT_DISABLE="1"))
    assert proc.returncode != 0 and "Invalid character" in proc.stderr     # terraform rejects the file
    info = run_module(backend_info, dict(path=[str(tmp_path)]))
    assert info["backends"] == [] and len(info["failures"]) == 1
    failure = info["failures"][0]
    assert (failure["file"], failure["line"]) == (path, 2) and "typographic quote" in failure["reason"]
    walked = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile"))
    assert walked["changed"] is False
    assert [(u["file"], u["line"], u["kind"]) for u in walked["untouched"]] == [(path, 2, "parse_error")]
    named = run_module(backend_hcl, dict(path=[path], lock_mode="lockfile"))
    assert named["failed"] is True and "%s:2:" % path in named["msg"] and "typographic quote" in named["msg"]
    assert read(path) == CURLY
    with pytest.raises(RootError) as error:
        resolve_root(os.path.dirname(path))
    assert "%s:2:" % path in str(error.value)


@pytest.mark.parametrize("quoted, char", [("\u2018s3\u2019", "\u2018"), ("\u201es3\u201c", "\u201e"),
                                          ("\u00abs3\u00bb", "\u00ab"), ("'s3'", "'")])
def test_other_quotes_terraform_rejects_are_failures_too(terraform_bin, tmp_path, quoted, char):
    text = CURLY.replace("\u201cs3\u201d", quoted)
    path = write(tmp_path, "app/backend.tf", text)
    proc = subprocess.run([terraform_bin, "fmt", "-check", "-no-color", path], capture_output=True, text=True,
                          check=False, env=dict(os.environ, CHECKPOINT_DISABLE="1"))
    assert proc.returncode != 0 and "Invalid character" in proc.stderr
    [failure] = run_module(backend_info, dict(path=[str(tmp_path)]))["failures"]
    assert (failure["file"], failure["line"]) == (path, 2)
    assert ("single quote" if char == "'" else "quote %r" % char) in failure["reason"]


def test_tofu_roots_are_rewritten_and_terraform_fmt_agrees(terraform_bin, tmp_path, tofu_roots):
    result = run_module(backend_hcl, dict(path=[str(tofu_roots)], lock_mode="lockfile"))
    changed = sorted(os.path.relpath(f["path"], str(tofu_roots)) for f in result["files"])
    assert changed == ["both/backend.tf", "both/backend.tofu", "json/backend.tofu.json", "tofu/main.tofu"]
    after = read(str(tofu_roots / "tofu/main.tofu"))
    assert hcl_backend(after) == {"bucket": "b", "key": "tofu.tfstate", "region": "eu-west-1", "use_lockfile": True}
    assert json.loads(read(str(tofu_roots / "json/backend.tofu.json")))["terraform"]["backend"]["s3"] == {
        "bucket": "b", "key": "j", "use_lockfile": True}
    assert fmt_check(terraform_bin, tmp_path, [("before.tofu", TOFU), ("after.tofu", after)]) == []


def test_lock_table_is_kept_in_dual_and_goes_in_lockfile_and_terraform_fmt_agrees(terraform_bin, tmp_path):
    path = write(tmp_path, "terragrunt.hcl", LOCK_TABLE)
    dual = run_module(backend_hcl, dict(path=[path], lock_mode="dual"))
    assert dual["changes"][0]["lock_mode_before"] == "dynamodb" and dual["changes"][0]["added"] == ["use_lockfile"]
    assert read(path) == LOCK_TABLE_DUAL
    assert hcl_backend(LOCK_TABLE_DUAL)["lock_table"] == "old-locks"
    assert run_module(backend_info, dict(path=[path]))["backends"][0]["lock_mode"] == "dual"
    lockfile = run_module(backend_hcl, dict(path=[path], lock_mode="lockfile"))
    assert lockfile["changes"][0]["removed"] == ["lock_table"]
    assert read(path) == LOCK_TABLE_LOCKFILE
    assert "lock_table" not in hcl_backend(LOCK_TABLE_LOCKFILE)
    rollback = run_module(backend_hcl, dict(path=[path], lock_mode="dynamodb", dynamodb_table="old-locks"))
    assert rollback["changes"][0]["added"] == ["dynamodb_table"]
    assert hcl_backend(read(path)) == {"bucket": "state", "key": "app", "region": "eu-west-1",
                                       "dynamodb_table": "old-locks"}
    both = write(tmp_path, "both/terragrunt.hcl", LOCK_TABLE.replace(
        '    lock_table = "old-locks"\n', '    lock_table = "old-locks"\n    dynamodb_table = "new-locks"\n'))
    result = run_module(backend_hcl, dict(path=[both], lock_mode="lockfile"))
    assert sorted(result["changes"][0]["removed"]) == ["dynamodb_table", "lock_table"]
    assert "lock_table" not in read(both) and "dynamodb_table" not in read(both)
    assert fmt_check(terraform_bin, tmp_path, [("before", LOCK_TABLE), ("dual", LOCK_TABLE_DUAL),
                                               ("lockfile", LOCK_TABLE_LOCKFILE), ("rollback", read(path))]) == []
