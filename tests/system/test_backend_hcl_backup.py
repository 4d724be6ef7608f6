"""backend_hcl's backup copy, through the one writer of backend files (module_utils/backend_writer.py, which asks git
whether it holds the file): the rest of the module's file handling is tests/unit/plugins/modules/test_backend_hcl.py's."""

import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import run_module
from tests.unit.plugins.modules.test_backend_hcl import DYNAMODB, LOCKFILE, make


def test_write_keeps_mode_and_leaves_a_backup_and_no_temp_file(tmp_path):
    path = make(tmp_path, "app/backend.tf")
    backups = tmp_path / "backups"
    refused = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile", backup=True))
    assert refused["failed"] is True and "backup_dir" in refused["msg"] and path.read_text() == DYNAMODB
    result = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile", backup=True,
                                          backup_dir=str(backups)))
    assert result["changed"] is True
    assert path.read_text() == LOCKFILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = result["files"][0]["backup_file"]
    # Out of the repository, in the folder of the backend's bucket "b" and state key "k" (the migrate role's policy).
    assert os.path.dirname(backup) == str(backups / "b" / "k") and os.path.basename(backup).startswith("backend.tf.")
    with open(backup) as handle:
        assert handle.read() == DYNAMODB
    assert os.listdir(str(path.parent)) == ["backend.tf"]
    assert result["changes"] == [{"file": str(path), "line": 2, "form": "block", "lock_mode_before": "dynamodb",
                                  "lock_mode_after": "lockfile", "removed": ["dynamodb_table"],
                                  "added": ["use_lockfile"], "updated": []}]
    # read back through the other module
    info = run_module(backend_info, dict(path=[str(tmp_path)]))
    assert [(b["file"], b["lock_mode"]) for b in info["backends"]] == [(str(path), "lockfile")]
    again = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile", backup=True, backup_dir=str(backups)))
    assert again["changed"] is False and again["files"] == []
    assert again["untouched"][0]["kind"] == "already"
