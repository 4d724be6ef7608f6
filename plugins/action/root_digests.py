# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_digests: the lock table and its digests before a rollback (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.digests import (
    DigestConflict,
    StateSelection,
    named_state_keys,
    sync_digests,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_table import TableRefused, ensure_table
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import DYNAMODB
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


class ActionModule(RootAction):
    PHASE = "digests"
    ARGUMENT_SPEC = dict(migration=MIGRATION_OPTION)

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        if migration.target != DYNAMODB:
            raise PhaseFailed("root_digests is the phase of a rollback (target dynamodb), not of target %s"
                              % migration.target)
        settings = migration.settings
        table = migration.dynamodb_table
        connection = self.connection(args, migration.region)
        dynamodb = connection.client("dynamodb")
        try:
            created, before, after = ensure_table(dynamodb, table, check_mode=self.check_mode)
        except TableRefused as exc:
            raise PhaseFailed("%s; nothing was changed" % exc)
        selection = StateSelection(settings["bucket"], named_state_keys(
            key=settings["key"], workspaces=migration.workspaces,
            workspace_key_prefix=settings.get("workspace_key_prefix")))
        # A table this check-mode run would create has no items yet.
        items = selection.read_items(dynamodb, table) if before["exists"] else {}
        try:
            changes = sync_digests(connection.client("s3"), dynamodb, table, selection, items, check_mode=self.check_mode)
        except DigestConflict as exc:
            raise PhaseFailed(str(exc), changed=created)
        synced = [change for change in changes if change["action"] != "none"]
        return dict(changed=created or bool(synced), lock_table=after,
                    table_created=bool(created or migration.table_created), digests=synced)
