# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_stage: the stage migrate_target=auto moves a root to (docs in plugins/modules)."""

from __future__ import annotations

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import auto
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import blockers
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import runs
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import reports
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import COLLECTION_VERSION, AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.finding import find_locks
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import RootError, resolve_root
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_objects import list_states
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import PhaseFailed, RootAction

# What a root that stays where it is tells a person.
NEXT_STEPS = {
    "held": "find the client that still locks only through DynamoDB (the lock's Who and Version), give it the dual "
            "configuration or retire it; the root moves on a dual grace after the last evidence",
    "waiting": "nothing: a later run moves it to lockfile once the dual grace is over",
    "done": "",
    "pinned": "nothing while the rollback holds; to move the root on, run the migrate playbook for it with "
              "migrate_target=dual (or lockfile) explicitly (--limit), which lifts the pin",
}


class ActionModule(RootAction):
    PHASE = "stage"
    ARGUMENT_SPEC = dict(
        root=dict(type="path", required=True),
        root_name=dict(type="str"),
        init_args=dict(type="list", elements="str", default=[]),
        dual_grace=dict(type="str", default=ledger.DEFAULT_DUAL_GRACE),
    )
    RESOLVES_IDENTITY = True
    # ``(backend, RootError or None)`` of the root as root_preflight read it in this task (RootAction.compose):
    # the stage is chosen from that read, not from a second parse; None when the stage runs on its own.
    resolved = None

    def phase(self, args, task_vars):
        try:
            backend = self._backend(args)
            now = clock.now()
            grace = clock.parse_duration(args["dual_grace"])
        except (RootError, ValueError) as exc:
            raise PhaseFailed(str(exc))
        settings = backend["settings"]
        region = settings.get("region") or args.get("region")
        # As the principal terraform runs as, like the preflight (the stage reads the ledger and the locks).
        connection, identity = self.root_connection(dict(args, region=region), backend,
                                                    runs.run_identity()["run_id"])
        s3 = connection.client("s3")
        try:
            entries = ledger_store.read_root_entries(s3, settings["bucket"], settings["key"])
        except ledger.LedgerError as exc:
            raise PhaseFailed("the ledger of this root cannot be read: %s" % exc)
        table = blockers.lock_table_of(backend)
        evidence, workspaces = [], ["default"]
        if backend["lock_mode"] == decide.DUAL:
            evidence, workspaces = self._evidence(connection, s3, settings, table, region)
        try:
            step = auto.auto_step(backend["lock_mode"], entries, now, grace, evidence)
        except ledger.LedgerError as exc:
            raise PhaseFailed("%s:%s: %s" % (backend["file"], backend["line"], exc))
        host = task_vars.get("inventory_hostname")
        root_name = redact_url(args["root_name"] or backend["root"])
        changed = False
        if step["evidence"] and evidence and not self.check_mode:
            held = ledger.new_entry(ledger.HELD, now, settings["bucket"], settings["key"], table=table,
                                    workspace_key_prefix=settings.get("workspace_key_prefix"), workspaces=workspaces,
                                    region=region, root=root_name, host=host, run_id=runs.run_identity()["run_id"],
                                    version=COLLECTION_VERSION, evidence=evidence)
            ledger_store.record_stage(s3, held, bool(settings.get("encrypt")), settings.get("kms_key_id"), existing=entries)
            changed = True
        stage = dict(step, lock_mode=backend["lock_mode"], bucket=settings["bucket"], key=settings["key"],
                     dynamodb_table=table, time=clock.utc_text(now))
        result = dict(changed=changed, stage=stage, target=step["target"],
                      msg="%s: %s (%s)" % (host, step["status"], step["why"]))
        if step["target"] is None:
            result["result"] = self._row(host, root_name, backend, identity, step, now, region=region,
                                         dynamodb_table=table, workspaces=workspaces)
        return result

    def _backend(self, args):
        """The root's backend: root_preflight's read of it, else read here; a Terragrunt root is refused, named."""
        if self.resolved is None:
            return resolve_root(args["root"], args["init_args"])
        backend, unreadable = self.resolved
        if unreadable is not None:
            raise unreadable
        if backend["form"].startswith("terragrunt"):
            raise RootError("%s:%s: the %s form is not a Terraform root's backend block (Terragrunt roots are "
                            "migrated by the migrate role only)" % (backend["file"], backend["line"], backend["form"]))
        return backend

    def _evidence(self, connection, s3, settings, table, region):
        """Old-client evidence in the root's locks of every workspace, and the workspaces."""
        states = list_states(s3, settings["bucket"], settings["key"], settings.get("workspace_key_prefix"))
        workspaces = [state["workspace"] for state in states] or ["default"]
        request = {"bucket": settings["bucket"], "key": settings["key"],
                   "workspace_key_prefix": settings.get("workspace_key_prefix"), "workspaces": workspaces,
                   "dynamodb_table": table, "region": region}
        try:
            locks = find_locks(connection.client, [request])
        except AwsError as exc:
            if not table or exc.code != "ResourceNotFoundException":
                raise
            request["dynamodb_table"] = None
            locks = find_locks(connection.client, [request])
        return auto.old_client_evidence(locks), workspaces

    def _row(self, host, root_name, backend, identity, step, now, **where):
        """The report row of a root that stays where it is (reports.root_row, as root_result's rows)."""
        settings = backend["settings"]
        return reports.root_row(
            host=host, root=root_name, backend_file="%s:%s" % (backend["file"], backend["line"]),
            status=step["status"], reason=step["why"], next_step=NEXT_STEPS[step["status"]],
            check_mode=self.check_mode, action=decide.ACTION_NONE, target="auto",
            lock_mode_before=backend["lock_mode"],
            lock_mode_after=outcome.lock_mode_after(backend["lock_mode"], backend.get("initialised_lock_mode")),
            files_lock_mode_after=backend["lock_mode"],
            initialised_lock_mode_after=backend.get("initialised_lock_mode"),
            bucket=settings.get("bucket"), key=settings.get("key"), account=identity.get("account"),
            held_back=step["evidence"] if step["status"] == "held" else [],
            # A rolled-back root migrate_target=auto leaves on DynamoDB: when, by which run and why.
            pinned=step.get("pin"), run_id=runs.run_identity()["run_id"], time=clock.utc_text(now),
            **dict(where, **reports.identity_fields(identity)))
