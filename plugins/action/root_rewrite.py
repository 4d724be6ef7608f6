# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_rewrite: the root's format-preserving rewrite (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.rewrite import RewriteError, rewrite_paths
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.writer import (
    BackupPolicy,
    FileWrite,
    WriteFailed,
    backup_folder,
    write_files,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import DYNAMODB
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import fingerprint, lock_settings
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


HARMLESS_SKIPS = ("already", "no_lock_settings", "no_backend")


def write_root(migration, changed, policy):
    """Write a root's changed files (FileRewrite) through the one writer; PhaseFailed when nothing could be."""
    folder = backup_folder(migration.settings, migration.host)
    writes = [FileWrite(result.path, result.file.encode(result.after), migration.root, folder) for result in changed]
    try:
        entries = write_files(writes, policy)
    except WriteFailed as exc:
        raise PhaseFailed("cannot write the backend files of %s (%s); %s" % (
            migration.root, exc, "nothing was changed" if exc.restored else "NOT ALL WERE PUT BACK"))
    for result, entry in zip(changed, entries):
        # What was written, as its checked parse read it: a later phase that finds these bytes on disk measures
        # the file from this (root.backend_now) instead of parsing it again.
        entry.update(changed=True, fingerprint=fingerprint(result.path),
                     lock_settings_after=[lock_settings(settings) for settings in result.settings_after])
    return entries


class ActionModule(RootAction):
    PHASE = "rewrite"
    USES_AWS = False
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        backup_dir=dict(type="path"),
        backup_clean_git=dict(type="bool", default=False),
        backup_keep=dict(type="int", default=10),
    )

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        try:
            policy = BackupPolicy(args["backup_dir"], args["backup_keep"], args["backup_clean_git"])
        except ValueError as exc:
            raise PhaseFailed(str(exc))
        files = migration.backend["config_files"]
        try:
            # A rollback names its table again (target dynamodb); migrate keeps the files' own table.
            table = migration.dynamodb_table if migration.target == DYNAMODB else None
            # The preflight stops a root whose merged configuration does not lock; here a file's own
            # use_lockfile = false (a partial configuration completing a block's table) follows the target.
            results = rewrite_paths(files, migration.target, table, [], leave_unlocked=False)
        except RewriteError as exc:
            raise PhaseFailed("nothing was written: %s" % exc)
        # A file already in the target form (one of several) is fine; anything else left untouched
        # (a parse error, a template, an expression, a layout the splice cannot extend) stops here.
        untouched = [entry for result in results for entry in result.untouched if entry["kind"] not in HARMLESS_SKIPS]
        if untouched:
            first = untouched[0]
            raise PhaseFailed("%s:%s: cannot rewrite the backend: %s (nothing was written)" % (
                first.get("file") or first.get("path"), first.get("line"), first.get("reason")), untouched=untouched)
        changed = [result for result in results if result.changed]
        if self.check_mode:
            entries = [{"path": result.path, "changed": True} for result in changed]
        else:
            entries = write_root(migration, changed, policy)
        output = dict(changed=bool(changed), files=entries,
                      changes=[change for result in results for change in result.changes])
        if changed:
            output["diff"] = [dict(before_header="%s (before)" % r.path, after_header="%s (after)" % r.path,
                                   before=r.before, after=r.after) for r in changed]
        return output
