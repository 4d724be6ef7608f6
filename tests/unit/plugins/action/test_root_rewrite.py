"""The rewrite phase's file handling: backups outside the root, atomic writes that keep the mode, all or nothing."""

import datetime
import os
import stat

from ansible_collections.tfstate.s3_backend.plugins.action import root_rewrite
from ansible_collections.tfstate.s3_backend.plugins.module_utils.contract import Migration

NOW = datetime.datetime(2026, 11, 29, 20, 0, 0, tzinfo=datetime.timezone.utc)


def test_backup_path_is_outside_the_root_in_a_folder_naming_the_roots_bucket_and_key(tmp_path):
    migration = Migration(host="team/app", backend={"settings": {"bucket": "acme-state", "key": "apps/app/terraform.tfstate"}})
    folder = root_rewrite.backup_folder(migration)
    assert folder == os.path.join("acme-state", "apps", "app", "terraform.tfstate")
    path = root_rewrite.backup_path(str(tmp_path / "backups"), folder, "/srv/app", "/srv/app/env/backend.tf", NOW)
    assert path == str(tmp_path / "backups" / "acme-state" / "apps" / "app" / "terraform.tfstate" / "env"
                       / "backend.tf.20261129T200000Z~")


def test_a_backup_folder_never_climbs_out_and_falls_back_to_the_host():
    climbing = Migration(backend={"settings": {"bucket": "b", "key": "../../etc/./x y.tfstate"}})
    assert root_rewrite.backup_folder(climbing) == os.path.join("b", "_..", "_..", "etc", "x_y.tfstate")
    assert root_rewrite.backup_folder(Migration(host="team/app", backend={"settings": {}})) == "team_app"


def test_only_this_collections_older_backups_of_the_same_file_beyond_the_count_are_pruned():
    names = ["backend.tf.20261101T000000Z~", "backend.tf.20261102T000000Z~", "backend.tf.20261103T000000Z~",
             "backend.tf.bak", "backend.tf~", "notes.txt", "main.tf.20261101T000000Z~",
             "other-backend.tf.20261101T000000Z~"]
    newest = "backend.tf.20261103T000000Z~"
    assert root_rewrite.prunable(names, newest, 2) == ["backend.tf.20261101T000000Z~"]
    assert root_rewrite.prunable(names, newest, 1) == ["backend.tf.20261101T000000Z~", "backend.tf.20261102T000000Z~"]
    assert root_rewrite.prunable(names, newest, 3) == [] and root_rewrite.prunable(names, newest, 0) == []
    assert root_rewrite.prunable(names, "backend.tf", 1) == []  # not a backup name: nothing to judge by


def test_prune_backups_deletes_on_disk_and_keeps_the_rest(tmp_path):
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        (tmp_path / ("backend.tf.%s~" % stamp)).write_text(stamp)
    (tmp_path / "keep.me").write_text("x")
    gone = root_rewrite.prune_backups(str(tmp_path / "backend.tf.20261103T000000Z~"), 1)
    assert gone == [str(tmp_path / "backend.tf.20261101T000000Z~"), str(tmp_path / "backend.tf.20261102T000000Z~")]
    assert sorted(os.listdir(str(tmp_path))) == ["backend.tf.20261103T000000Z~", "keep.me"]


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
    migration = Migration(host="app", root=str(tmp_path))
    try:
        root_rewrite.ActionModule._write(changed, entries, None, migration)
    except root_rewrite.PhaseFailed as exc:
        assert "nothing was changed" in exc.message
    else:
        raise AssertionError("the write did not fail")
    assert first.read_text() == "before\n"
