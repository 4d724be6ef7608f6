# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_verify: prove the new locking with terraform (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import DYNAMODB
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import (
    first_error,
    lock_named,
    plan_argv,
    refused_by_lock_item,
    refused_by_lockfile,
    run,
    runner,
)
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


class ActionModule(RootAction):
    PHASE = "verify"
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        expect=dict(type="str", choices=["refused", "planned"], required=True),
        terraform_timeout=dict(type="int", default=900),
    )

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        if self.check_mode:
            return dict(changed=False, verified=None, msg="check mode: terraform was not run")
        binary, extra = runner(args["migration"])
        env = self.terraform_env(args, TF_WORKSPACE="default", **extra)
        if args["expect"] == "refused":
            return self._refused(binary, migration, env, args["terraform_timeout"])
        return self._planned(binary, migration, env, args["terraform_timeout"])

    @staticmethod
    def _refused(binary, migration, env, timeout):
        """A plan while the maintenance lock is held must be refused by the .tflock object (PutObject)."""
        lock_id = migration.freeze["lock_id"]
        rc, out, err = run(plan_argv(binary, "0s"), migration.root, env, timeout)
        # A rollback (target dynamodb) must be refused by the maintenance lock's DynamoDB item, migrate by the object.
        rollback = migration.target == DYNAMODB
        if not (refused_by_lock_item if rollback else refused_by_lockfile)(rc, err, lock_id):
            settings = migration.settings
            where = ("the DynamoDB lock item in table %s" % migration.dynamodb_table if rollback
                     else "the .tflock object")
            raise PhaseFailed("terraform in %s was not refused through %s of %s/%s while the "
                              "maintenance lock %s was held: %s" % (
                                  migration.root, where, settings["bucket"], settings["key"], lock_id,
                                  first_error(err or out) if rc else "the plan succeeded"),
                              verified=False, rc=rc)
        return dict(changed=False, verified=True, locked_plan_refused=True)

    @staticmethod
    def _planned(binary, migration, env, timeout):
        """A plan without the maintenance lock must succeed (and match the baseline's exit code when taken)."""
        baseline = migration.baseline_rc
        rc, out, err = run(plan_argv(binary, "60s", detailed=baseline is not None), migration.root, env, timeout)
        if rc not in ((0, 2) if baseline is not None else (0,)):
            holder = lock_named(err or out)
            raise PhaseFailed("terraform plan failed in %s after the cut-over: %s%s" % (
                migration.root, first_error(err or out), ", held by %s" % holder if holder else ""),
                verified=False, rc=rc)
        return dict(changed=False, verified=True, plan_ok=True,
                    matches_baseline=(rc == baseline) if baseline is not None else None)
