"""The rewrite phase's file handling: backups outside the root, atomic writes that keep the mode, all or nothing."""

import datetime
import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.action import root_rewrite

NOW = datetime.datetime(2026, 11, 29, 20, 0, 0, tzinfo=datetime.timezone.utc)


def test_backup_path_is_outside_the_root_and_named_after_the_host(tmp_path):
    path = root_rewrite.backup_path(str(tmp_path / "backups"), "team/app", "/srv/app", "/srv/app/env/backend.tf", NOW)
    assert path == str(tmp_path / "backups" / "team_app" / "env" / "backend.tf.20261129T200000Z~")


def test_write_atomically_keeps_the_mode_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "backend.tf"
    target.write_text("old\n")
    os.chmod(str(target), 0o640)
    root_rewrite.write_atomically(str(target), b"new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ["backend.tf"]


class _Result:
    def __init__(self, path, before, after):
        self.path, self.before, self.after = path, before, after
        self.file = self

    @staticmethod
    def encode(text):
        return text.encode("utf-8")


def test_a_failed_write_restores_the_files_already_written(tmp_path):
    first = tmp_path / "backend.tf"
    first.write_text("before\n")
    missing = tmp_path / "gone" / "prod.tfbackend"  # its directory is missing: the write fails
    changed = [_Result(str(first), "before\n", "after\n"), _Result(str(missing), "x", "y")]
    entries = [{"path": r.path} for r in changed]
    migration = {"host": "app", "root": str(tmp_path)}
    try:
        root_rewrite.ActionModule._write(changed, entries, None, migration)
    except root_rewrite.PhaseFailed as exc:
        assert "nothing was changed" in exc.message
    else:
        raise AssertionError("the write did not fail")
    assert first.read_text() == "before\n"
