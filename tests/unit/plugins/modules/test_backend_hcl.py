"""backend_hcl as a module: check mode, diff, backup, atomic writes, and refusing unverifiable edits."""

import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.module_utils import backend_rewrite
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.conftest import run_module

DYNAMODB = 'terraform {\n  backend "s3" {\n    bucket         = "b"\n    key            = "k"\n' \
           '    dynamodb_table = "t"\n  }\n}\n'
LOCKFILE = 'terraform {\n  backend "s3" {\n    bucket       = "b"\n    key          = "k"\n' \
           '    use_lockfile = true\n  }\n}\n'


def make(tmp_path, rel, text=DYNAMODB, mode=0o640):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(str(path), mode)
    return path


def test_check_mode_reports_and_writes_nothing(tmp_path):
    path = make(tmp_path, "app/backend.tf")
    before = path.stat()
    result = run_module(backend_hcl, dict(path=[str(tmp_path)], mode="lockfile"), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["files"] == [{"path": str(path)}]
    assert result["diff"] == [{"before_header": "%s (before)" % path, "after_header": "%s (after)" % path,
                               "before": DYNAMODB, "after": LOCKFILE}]
    assert path.read_text() == DYNAMODB and path.stat().st_mtime_ns == before.st_mtime_ns
    assert not [name for name in os.listdir(str(path.parent)) if name != "backend.tf"]


def test_write_keeps_mode_and_leaves_a_backup_and_no_temp_file(tmp_path):
    path = make(tmp_path, "app/backend.tf")
    result = run_module(backend_hcl, dict(path=[str(path)], mode="lockfile", backup=True))
    assert result["changed"] is True
    assert path.read_text() == LOCKFILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = result["files"][0]["backup_file"]
    with open(backup) as handle:
        assert handle.read() == DYNAMODB
    assert sorted(os.listdir(str(path.parent))) == sorted(["backend.tf", os.path.basename(backup)])
    assert result["changes"] == [{"file": str(path), "line": 2, "form": "block", "lock_mode_before": "dynamodb",
                                  "lock_mode_after": "lockfile", "removed": ["dynamodb_table"],
                                  "added": ["use_lockfile"], "updated": [], "warnings": []}]
    # read back through the other module
    info = run_module(backend_info, dict(path=[str(tmp_path)]))
    assert [(b["file"], b["lock_mode"]) for b in info["backends"]] == [(str(path), "lockfile")]
    again = run_module(backend_hcl, dict(path=[str(path)], mode="lockfile", backup=True))
    assert again["changed"] is False and again["files"] == []
    assert again["untouched"][0]["kind"] == "already"


def test_an_unverifiable_edit_fails_and_writes_no_file(tmp_path, monkeypatch):
    good = make(tmp_path, "a/backend.tf")
    bad = make(tmp_path, "b/backend.tf")
    real = backend_rewrite.expected_settings

    def corrupt_for_b(backend, ops):
        expected = real(backend, ops)
        if backend.path == str(bad):
            expected["bucket"] = "not what is written"
        return expected
    monkeypatch.setattr(backend_rewrite, "expected_settings", corrupt_for_b)
    result = run_module(backend_hcl, dict(path=[str(tmp_path)], mode="lockfile"))
    assert result["failed"] is True
    assert result["msg"].startswith("nothing was written: %s:2: " % bad)
    assert (result["file"], result["line"]) == (str(bad), 2)
    assert good.read_text() == DYNAMODB and bad.read_text() == DYNAMODB


def test_dual_and_rollback_with_a_table(tmp_path):
    path = make(tmp_path, "a/backend.tf", text=LOCKFILE)
    skipped = run_module(backend_hcl, dict(path=[str(path)], mode="dual"))
    assert skipped["changed"] is False and skipped["untouched"][0]["kind"] == "needs_table"
    dual = run_module(backend_hcl, dict(path=[str(path)], mode="dual", dynamodb_table="t"))
    assert dual["changed"] is True and dual["changes"][0]["added"] == ["dynamodb_table"]
    assert run_module(backend_info, dict(path=[str(path)]))["backends"][0]["lock_mode"] == "dual"
    rollback = run_module(backend_hcl, dict(path=[str(path)], mode="dynamodb", dynamodb_table="other"))
    assert rollback["changes"][0]["warnings"] == [
        "keeps its dynamodb_table 't' (line 5); the given 'other' is not applied"]
    assert path.read_text() == DYNAMODB


def test_missing_path_fails(tmp_path):
    for module in (backend_hcl, backend_info):
        args = dict(path=[str(tmp_path / "nope")])
        if module is backend_hcl:
            args["mode"] = "lockfile"
        result = run_module(module, args)
        assert result["failed"] is True and "does not exist" in result["msg"]


def test_info_reports_failures_and_goes_on(tmp_path):
    make(tmp_path, "broken/backend.tf", text='terraform {\n  backend "s3" {\n    key = "k\n  }\n}\n')
    good = make(tmp_path, "good/backend.tf")
    result = run_module(backend_info, dict(path=[str(tmp_path)]), check_mode=True)
    assert result["failures"] == [{"file": str(tmp_path / "broken/backend.tf"), "line": 3,
                                   "reason": "unterminated string"}]
    assert [b["file"] for b in result["backends"]] == [str(good)]
    assert result["lock_modes"] == {"dynamodb": 1, "dual": 0, "lockfile": 0, "none": 0}


def test_a_symlinked_file_is_edited_through_the_link(tmp_path):
    target = make(tmp_path, "shared/backend.tf")
    link = tmp_path / "root" / "backend.tf"
    link.parent.mkdir()
    link.symlink_to(target)
    result = run_module(backend_hcl, dict(path=[str(link.parent)], mode="lockfile"))
    assert result["changed"] is True
    assert link.is_symlink() and target.read_text() == LOCKFILE


def test_an_unreadable_tf_in_the_root_stops_the_rewrite_naming_it(tmp_path):
    """A link to /dev/zero is not read until memory runs out: the rewrite stops, names it, and writes nothing."""
    root = tmp_path / "root"
    root.mkdir()
    text = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "k"\n    dynamodb_table = "t"\n  }\n}\n'
    (root / "backend.tf").write_text(text)
    (root / "zero.tf").symlink_to("/dev/zero")
    result = run_module(backend_hcl, {"path": [str(root)], "mode": "lockfile"})
    assert result.get("failed") and str(root / "zero.tf") in result["msg"], result
    assert "not a regular file" in result["msg"]
    assert (root / "backend.tf").read_text() == text
