# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_freeze: the maintenance lock on every workspace (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_info import new_lock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.holding import LockTarget, acquire, release
from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import COLLECTION_VERSION
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.migration_record import (
    pending_record,
    read_record,
    write_record,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import state_key
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


def lock_targets(migration):
    """``{workspace: LockTarget}`` for every workspace of the root, in both stores while a table is in play."""
    settings = migration.settings
    return {workspace: LockTarget(
        settings["bucket"],
        state_key(settings["key"], workspace, settings.get("workspace_key_prefix")),
        dynamodb_table=migration.freeze_table,
        encrypt=bool(settings.get("encrypt")),
        kms_key_id=settings.get("kms_key_id"),
        workspace=workspace,
    ) for workspace in migration.workspaces}


class ActionModule(RootAction):
    PHASE = "freeze"
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )

    def phase_label(self, args):
        """``thaw`` for the release (state absent), else ``freeze``."""
        return "thaw" if args.get("state") == "absent" else self.PHASE

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        connection = self.connection(args, migration.region)
        s3 = connection.client("s3")
        dynamodb = connection.client("dynamodb") if migration.freeze_table else None
        targets = lock_targets(migration)
        if args["state"] == "absent":
            return self._thaw(s3, dynamodb, targets, migration.freeze["lock_id"])
        return self._freeze(s3, dynamodb, targets, migration)

    def _freeze(self, s3, dynamodb, targets, migration):
        released, taken, changed = [], [], False
        stale = migration.stale_freezes or []
        for workspace, target in sorted(targets.items()):
            # The maintenance locks an interrupted run left (proven stale in the preflight), by their ID only.
            for lock_id in sorted(set(entry["id"] for entry in stale if entry["workspace"] == workspace)):
                outcome = release(s3, dynamodb, target, lock_id=lock_id, check_mode=self.check_mode)
                released.extend(outcome["released"])
                changed = changed or outcome["changed"]
            lock = new_lock(target.path, "OperationTypeMigrate", info=migration.freeze["info"],
                            who="tfstate.s3_backend@%s" % migration.controller)
            lock["ID"] = migration.freeze["lock_id"]
            outcome = acquire(s3, dynamodb, target, lock, check_mode=self.check_mode)
            changed = changed or outcome["changed"]
            if outcome["held_by"]:
                raise PhaseFailed("cannot freeze %s: %s" % (target.path, self._holders(s3, migration, outcome["held_by"])),
                                  changed=changed, released=released, frozen=taken)
            taken.append(target.path)
        if not self.check_mode:
            self._record_intent(s3, migration)
        return dict(changed=changed, released=released, frozen=taken)

    @staticmethod
    def _holders(s3, migration, holders):
        """The locks that refused the freeze, each naming the run of this collection that holds it when one does."""
        settings = migration.settings
        record = read_record(s3, settings["bucket"], settings["key"])
        now = clock.now()
        return "; ".join(decide.lock_holder(holder, migration.run_id, now, record)[1] for holder in holders)

    @staticmethod
    def _record_intent(s3, migration):
        """Say in the migration record that a cut-over started, before anything else changes.

        Read again under the maintenance lock: another run's live intent (it is between its thaw and
        its record), or a record written since this run's preflight, stops the root here (the thaw
        that follows releases this run's lock), so two runs never both cut a root over.
        """
        settings = migration.settings
        current = read_record(s3, settings["bucket"], settings["key"])
        why = decide.freeze_recheck(migration.record_before, current, migration.run_id, clock.now())
        if why:
            raise PhaseFailed(why, changed=True)
        provenance = {"host": migration.host, "bucket": settings["bucket"], "key": settings["key"],
                      "workspaces": migration.workspaces, "run_id": migration.run_id,
                      "job_id": migration.job_id, "recorded_time": clock.utc_text(clock.now())}
        pending = migration.intent or {
            "target": migration.target, "run_id": migration.run_id, "started": migration.started,
            "dynamodb_table": migration.dynamodb_table}
        record = pending_record(current, migration.lock_mode_before, migration.dynamodb_table,
                                redact_url(migration.root_name or migration.root), COLLECTION_VERSION,
                                provenance, pending)
        write_record(s3, settings["bucket"], settings["key"], record, bool(settings.get("encrypt")),
                     settings.get("kms_key_id"))

    def _thaw(self, s3, dynamodb, targets, lock_id):
        released, kept, changed = [], [], False
        for dummy, target in sorted(targets.items()):
            outcome = release(s3, dynamodb, target, lock_id=lock_id, check_mode=self.check_mode)
            released.extend(outcome["released"])
            kept.extend(outcome["kept"])
            changed = changed or outcome["changed"]
        return dict(changed=changed, released=released, kept=kept)
