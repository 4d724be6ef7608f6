"""backend_hcl's backup copy, written by Ansible's backup_local (which runs lsattr): the rest of the module's file
handling is tests/unit/plugins/modules/test_backend_hcl.py's."""

import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.modules import backend_hcl, backend_info
from tests.testbed.collection import run_module
from tests.unit.plugins.modules.test_backend_hcl import DYNAMODB, LOCKFILE, make


def test_write_keeps_mode_and_leaves_a_backup_and_no_temp_file(tmp_path):
    path = make(tmp_path, "app/backend.tf")
    result = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile", backup=True))
    assert result["changed"] is True
    assert path.read_text() == LOCKFILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    backup = result["files"][0]["backup_file"]
    with open(backup) as handle:
        assert handle.read() == DYNAMODB
    assert sorted(os.listdir(str(path.parent))) == sorted(["backend.tf", os.path.basename(backup)])
    assert result["changes"] == [{"file": str(path), "line": 2, "form": "block", "lock_mode_before": "dynamodb",
                                  "lock_mode_after": "lockfile", "removed": ["dynamodb_table"],
                                  "added": ["use_lockfile"], "updated": []}]
    # read back through the other module
    info = run_module(backend_info, dict(path=[str(tmp_path)]))
    assert [(b["file"], b["lock_mode"]) for b in info["backends"]] == [(str(path), "lockfile")]
    again = run_module(backend_hcl, dict(path=[str(path)], lock_mode="lockfile", backup=True))
    assert again["changed"] is False and again["files"] == []
    assert again["untouched"][0]["kind"] == "already"
