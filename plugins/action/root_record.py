# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_record: record the measured cut-over (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.digests import (
    StateSelection,
    named_state_keys,
    remove_digests,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import COLLECTION_VERSION
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.migration_record import (
    read_record,
    record_key,
    wanted_record,
    write_record,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import RootError, backend_now
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


def measured_mode(migration, init_args, rewritten=()):
    """The lock mode measured now from the files and from terraform's initialised backend: a file is parsed again
    only when its bytes are neither the preflight's nor those this run's rewrite wrote (root.backend_now)."""
    try:
        now = backend_now(migration.backend, init_args, rewritten)
    except RootError as exc:
        raise PhaseFailed("after the cut-over the backend cannot be read back: %s" % exc)
    return now["lock_mode"], now["initialised_lock_mode"]


class ActionModule(RootAction):
    PHASE = "record"
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        init_args=dict(type="list", elements="str", default=[]),
        rewritten=dict(type="list", elements="dict", default=[]),
        remove_digests=dict(type="bool", default=True),
        root_name=dict(type="str"),
        reason=dict(type="str"),
    )

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        target = migration.target
        if self.check_mode:
            return dict(changed=False, msg="check mode: no record written")
        files_mode, init_mode = measured_mode(migration, args["init_args"], args["rewritten"])
        if files_mode != target or init_mode != target:
            raise PhaseFailed("after the cut-over the files say %s and the last terraform init %s, not %s: "
                              "nothing recorded" % (files_mode, init_mode or "nothing", target))
        settings = migration.settings
        connection = self.connection(args, migration.region)
        s3 = connection.client("s3")
        now = clock.utc_text(clock.now())
        provenance = {"host": migration.host, "bucket": settings["bucket"], "key": settings["key"],
                      "workspaces": migration.workspaces, "run_id": migration.run_id,
                      "job_id": migration.job_id, "recorded_time": now}
        current = read_record(s3, settings["bucket"], settings["key"])
        record = wanted_record(current, files_mode, migration.dynamodb_table, now,
                               redact_url(args["root_name"] or migration.root_name or migration.root),
                               COLLECTION_VERSION,
                               provenance)
        write_record(s3, settings["bucket"], settings["key"], record, bool(settings.get("encrypt")),
                     settings.get("kms_key_id"))
        ledger_key, lifted = self._ledger(s3, migration, settings, files_mode, record, args["reason"])
        result = dict(changed=True, record=record, record_key=record_key(settings["key"]), digests=[],
                      lock_mode_after=files_mode, initialised_lock_mode_after=init_mode,
                      ledger_key=ledger_key, lifted_pin=lifted)
        table = migration.freeze_table
        if target == decide.LOCKFILE and args["remove_digests"] and table:
            dynamodb = connection.client("dynamodb")
            selection = StateSelection(settings["bucket"], named_state_keys(
                key=settings["key"], workspaces=migration.workspaces,
                workspace_key_prefix=settings.get("workspace_key_prefix")))
            changes = remove_digests(dynamodb, table, selection, selection.read_items(dynamodb, table))
            result["digests"] = [change for change in changes if change["action"] != "none"]
        return result

    @staticmethod
    def _ledger(s3, migration, settings, stage, record, reason):
        """The root's stage in the fleet's ledger (module_utils/_fleet/ledger.py), written when it is news.

        ``(key or None, lifted pin or None)``: a dual or lockfile stage written over a rollback's pin names it.
        """
        try:
            moment = clock.now()
            existing = ledger_store.read_root_entries(s3, settings["bucket"], settings["key"])
        except ledger.LedgerError as exc:
            raise PhaseFailed(str(exc))
        pin = ledger.pin_of(existing) if stage != ledger.DYNAMODB else None
        entry = ledger.new_entry(
            stage, moment, settings["bucket"], settings["key"], table=migration.dynamodb_table,
            workspace_key_prefix=settings.get("workspace_key_prefix"), workspaces=migration.workspaces,
            account=migration.account, region=migration.region, root=record.get("root"),
            host=migration.host, run_id=migration.run_id, job_id=migration.job_id,
            version=COLLECTION_VERSION, reason=reason, lifted_pin=pin)
        key = ledger_store.record_stage(s3, entry, bool(settings.get("encrypt")), settings.get("kms_key_id"), existing=existing)
        return key, pin if key else None
