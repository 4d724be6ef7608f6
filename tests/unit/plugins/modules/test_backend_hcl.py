"""backend_hcl as a module: check mode, diff, backup, atomic writes, refusing unverifiable edits, lock_mode, and
fail_on_untouched."""

import os

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import rewrite as backend_rewrite
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend import writer as backend_writer
from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import run_module

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
    result = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile"), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["files"] == [{"path": str(path)}]
    assert result["diff"] == [{"before_header": "%s (before)" % path, "after_header": "%s (after)" % path,
                               "before": DYNAMODB, "after": LOCKFILE}]
    assert path.read_text() == DYNAMODB and path.stat().st_mtime_ns == before.st_mtime_ns
    assert not [name for name in os.listdir(str(path.parent)) if name != "backend.tf"]


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
    result = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile"))
    assert result["failed"] is True
    assert result["msg"].startswith("nothing was written: %s:2: " % bad)
    assert (result["file"], result["line"]) == (str(bad), 2)
    assert good.read_text() == DYNAMODB and bad.read_text() == DYNAMODB


def test_dual_and_rollback_with_a_table(tmp_path):
    path = make(tmp_path, "a/backend.tf", text=LOCKFILE)
    refused = run_module(backend_hcl, dict(path=[str(path)], lock_mode="dual"))
    assert refused["failed"] is True and "%s:2: the backend at line 2 has no dynamodb_table" % path in refused["msg"]
    skipped = run_module(backend_hcl, dict(path=[str(path)], lock_mode="dual", fail_on_untouched=False))
    assert skipped["changed"] is False and skipped["untouched"][0]["kind"] == "needs_table"
    assert path.read_text() == LOCKFILE
    dual = run_module(backend_hcl, dict(path=[str(path)], lock_mode="dual", dynamodb_table="t"))
    assert dual["changed"] is True and dual["changes"][0]["added"] == ["dynamodb_table"]
    assert run_module(backend_info, dict(path=[str(path)]))["backends"][0]["lock_mode"] == "dual"
    rollback = run_module(backend_hcl, dict(path=[str(path)], lock_mode="dynamodb", dynamodb_table="other"))
    assert rollback["changed"] is True and path.read_text() == DYNAMODB  # the file's table 't' is kept


def test_missing_path_fails(tmp_path):
    for module in (backend_hcl, backend_info):
        args = dict(path=[str(tmp_path / "nope")])
        if module is backend_hcl:
            args["lock_mode"] = "lockfile"
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
    result = run_module(backend_hcl, dict(path=[str(link.parent)], lock_mode="lockfile"))
    assert result["changed"] is True
    assert link.is_symlink() and target.read_text() == LOCKFILE


@pytest.fixture()
def fresh_warnings(monkeypatch):
    """In-process runs share Ansible's warning lists: each run here starts from empty ones.

    Once a test in the same process imported a controller plugin (an action plugin), ansible-core
    sends deprecations to the controller's display instead: a module run is not on the controller.
    """
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core 2.17: deprecations always go to the module's result
        _internal = None
    if hasattr(_internal, "is_controller"):  # ansible-core 2.19 and later
        monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", type(ansible_warnings._global_deprecations)())
    monkeypatch.setattr(ansible_warnings, "_global_warnings", type(ansible_warnings._global_warnings)())


def test_lock_mode_is_the_option_and_mode_is_not_one(tmp_path, fresh_warnings):
    new = make(tmp_path, "new/backend.tf")
    result = run_module(backend_hcl, dict(path=[str(new)], lock_mode="lockfile"))
    assert result["changed"] is True and not result.get("deprecations")
    assert new.read_text() == LOCKFILE
    old = make(tmp_path, "old/backend.tf")
    result = run_module(backend_hcl, dict(path=[str(old)], mode="lockfile"))
    assert result["failed"] is True and "mode" in result["msg"], result
    assert old.read_text() == DYNAMODB


def test_a_kept_table_is_a_task_warning_naming_file_and_line(tmp_path, fresh_warnings):
    path = make(tmp_path, "a/backend.tf", text=DYNAMODB)
    result = run_module(backend_hcl, dict(path=[str(path)], lock_mode="dual", dynamodb_table="other"))
    message = "keeps its dynamodb_table 't' (line 5); the given 'other' is not applied"
    warnings = [w if isinstance(w, str) else w["event"]["msg"] for w in result["warnings"]]  # 2.19: summaries
    assert warnings == ["%s:2: %s" % (path, message)]
    assert "warnings" not in result["changes"][0]  # the remark is the task warning only
    assert run_module(backend_info, dict(path=[str(path)]))["backends"][0]["lock_mode"] == "dual"
    ansible_warnings._global_warnings.clear()
    quiet = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile"))
    assert quiet["changed"] is True and "warnings" not in quiet


BROKEN = 'terraform {\n  backend "s3" {\n    key = "k\n  }\n}\n'


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_named_file_that_cannot_be_parsed_fails_and_nothing_is_written(tmp_path, check_mode):
    good = make(tmp_path, "good/backend.tf")
    broken = make(tmp_path, "broken/backend.tf", text=BROKEN)
    result = run_module(backend_hcl, dict(path=[str(good), str(broken)], lock_mode="lockfile"), check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"] == ("nothing was written: 1 file cannot be rewritten as asked: %s:3: cannot parse: "
                             "unterminated string (fail_on_untouched=false reports them in untouched instead)" % broken)
    assert (result["file"], result["line"]) == (str(broken), 3)
    assert good.read_text() == DYNAMODB and broken.read_text() == BROKEN
    assert sorted(os.listdir(str(good.parent))) == ["backend.tf"]


def test_a_named_file_without_an_s3_backend_fails(tmp_path):
    other = make(tmp_path, "other/backend.tf", text='terraform {\n  backend "gcs" {\n    bucket = "b"\n  }\n}\n')
    empty = make(tmp_path, "empty/variables.tf", text='variable "x" {}\n')
    result = run_module(backend_hcl, dict(path=[str(other), str(empty)], lock_mode="lockfile"))
    assert result["failed"] is True
    assert "%s:2: the active backend is \"gcs\", not \"s3\"" % other in result["msg"]
    assert "%s: no S3 backend settings" % empty in result["msg"]
    assert result["msg"].startswith("nothing was written: 2 files cannot be rewritten as asked: ")


def test_fail_on_untouched_false_reports_and_writes_the_rest(tmp_path):
    good = make(tmp_path, "good/backend.tf")
    broken = make(tmp_path, "broken/backend.tf", text=BROKEN)
    result = run_module(backend_hcl, dict(path=[str(good), str(broken)], lock_mode="lockfile", fail_on_untouched=False))
    assert "failed" not in result and result["changed"] is True
    assert result["untouched"] == [{"file": str(broken), "line": 3, "kind": "parse_error",
                                    "reason": "cannot parse: unterminated string"}]
    assert good.read_text() == LOCKFILE and broken.read_text() == BROKEN


def test_a_walked_directory_fails_only_when_asked(tmp_path):
    good = make(tmp_path, "good/backend.tf")
    broken = make(tmp_path, "broken/backend.tf", text=BROKEN)
    make(tmp_path, "reader/data.tf", text='data "terraform_remote_state" "x" {\n  backend = "s3"\n}\n')
    asked = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile", fail_on_untouched=True))
    assert asked["failed"] is True and (asked["file"], asked["line"]) == (str(broken), 3)
    assert "1 file cannot" in asked["msg"]   # the remote-state reader in the directory is no failure
    assert good.read_text() == DYNAMODB
    walked = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile"))
    assert "failed" not in walked and walked["changed"] is True
    assert [(u["file"], u["kind"]) for u in walked["untouched"]] == [
        (str(broken), "parse_error"), (str(tmp_path / "reader/data.tf"), "remote_state_data")]
    assert good.read_text() == LOCKFILE


def test_a_second_run_on_named_files_stays_green(tmp_path):
    path = make(tmp_path, "a/backend.tf")
    plain = make(tmp_path, "b/backend.tf", text='terraform {\n  backend "s3" {\n    bucket = "b"\n  }\n}\n')
    first = run_module(backend_hcl, dict(path=[str(path), str(plain)], lock_mode="lockfile"))
    assert first["changed"] is True
    again = run_module(backend_hcl, dict(path=[str(path), str(plain)], lock_mode="lockfile"))
    assert "failed" not in again and again["changed"] is False
    assert sorted(u["kind"] for u in again["untouched"]) == ["already", "no_lock_settings"]


def test_an_unreadable_tf_in_the_root_stops_the_rewrite_naming_it(tmp_path):
    """A link to /dev/zero is not read until memory runs out: the rewrite stops, names it, and writes nothing."""
    root = tmp_path / "root"
    root.mkdir()
    text = 'terraform {\n  backend "s3" {\n    bucket = "b"\n    key = "k"\n    dynamodb_table = "t"\n  }\n}\n'
    (root / "backend.tf").write_text(text)
    (root / "zero.tf").symlink_to("/dev/zero")
    result = run_module(backend_hcl, {"path": [str(root)], "lock_mode": "lockfile"})
    assert result.get("failed") and str(root / "zero.tf") in result["msg"], result
    assert "not a regular file" in result["msg"]
    assert (root / "backend.tf").read_text() == text


def test_a_file_that_cannot_be_written_puts_back_the_ones_written_before(tmp_path, monkeypatch):
    first = make(tmp_path, "a/backend.tf")
    second = make(tmp_path, "b/backend.tf")
    real = backend_writer.write_atomically

    def second_fails(path, data):
        if path == str(second):
            raise OSError(28, "No space left on device", path)
        real(path, data)
    monkeypatch.setattr(backend_writer, "write_atomically", second_fails)
    result = run_module(backend_hcl, dict(path=[str(tmp_path)], lock_mode="lockfile"))
    assert result["failed"] is True and result["file"] == str(second)
    assert result["msg"] == "cannot write %s: No space left on device (%s); nothing was written" % (second, second)
    assert first.read_text() == DYNAMODB and second.read_text() == DYNAMODB
    assert run_module(backend_info, dict(path=[str(tmp_path)]))["backends"][0]["lock_mode"] == "dynamodb"
