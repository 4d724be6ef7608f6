# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_cutover: the phases that change a root, in order (docs in plugins/modules).

Freeze, digests (rollback), Object Lock (asked for), rewrite, re-init and the refused plan run under the
maintenance lock, which is released whatever happens; then the plan, the publish and the record. Each phase
is its own action class (root_freeze, ...) run through ``RootAction.compose``; this one only orders them and
returns every phase's result under ``phases`` (``migration.CUTOVER_PHASES`` names).
"""

from ansible_collections.tfstate.s3_backend.plugins.action.root_digests import ActionModule as Digests
from ansible_collections.tfstate.s3_backend.plugins.action.root_freeze import ActionModule as Freeze
from ansible_collections.tfstate.s3_backend.plugins.action.root_record import ActionModule as Record
from ansible_collections.tfstate.s3_backend.plugins.action.root_reinit import ActionModule as Reinit
from ansible_collections.tfstate.s3_backend.plugins.action.root_rewrite import ActionModule as Rewrite
from ansible_collections.tfstate.s3_backend.plugins.action.root_verify import ActionModule as Verify
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import outcome
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration import vocabulary as decide
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.object_lock import (
    ObjectLockRefused,
    ensure_object_lock,
    result_of,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import (
    GitError,
    git_binary,
    nothing_published,
    publish_root,
    run_here,
)
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)

PUBLISH_SPEC = dict(
    enabled=dict(type="bool", default=False),
    push=dict(type="bool", default=False),
    version=dict(type="str"),
    own_clone=dict(type="path"),
    repo_url=dict(type="str", no_log=True),
    branch=dict(type="str", default="tfstate/s3-native-locking"),
    commit_message=dict(type="str", default="Use S3 native state locking (use_lockfile)"),
)


class ActionModule(RootAction):
    PHASE = "cutover"
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        init_args=dict(type="list", elements="str", default=[]),
        terraform_timeout=dict(type="int", default=900),
        verify=dict(type="bool", default=True),
        enable_object_lock=dict(type="bool", default=False),
        backup_dir=dict(type="path"),
        backup_clean_git=dict(type="bool", default=False),
        backup_keep=dict(type="int", default=10),
        remove_digests=dict(type="bool", default=True),
        root_name=dict(type="str"),
        reason=dict(type="str"),
        publish=dict(type="dict", default={}, options=PUBLISH_SPEC),
    )

    def phase(self, args, task_vars):
        self._args, self._task_vars, self._phases = args, task_vars, {}
        migration = self.migration_of(args)
        terraform = dict(terraform_timeout=args["terraform_timeout"])
        try:
            done_under_lock = (
                self._step("freeze", Freeze)
                and (migration.target != decide.DYNAMODB or self._step("digests", Digests))
                and (not args["enable_object_lock"] or self._object_lock(migration))
                and (migration.action != decide.ACTION_REWRITE or self._step(
                    "rewrite", Rewrite, backup_dir=args["backup_dir"], backup_clean_git=args["backup_clean_git"],
                    backup_keep=args["backup_keep"]))
                and self._step("reinit", Reinit, init_args=args["init_args"], **terraform)
                and (not args["verify"] or self._step("locked", Verify, expect="refused", **terraform)))
        finally:
            # Released whatever happened before, also after a freeze that failed midway.
            thawed = self._step("thaw", Freeze, state="absent")
        proven = done_under_lock and thawed and (
            not args["verify"] or self._step("planned", Verify, expect="planned", **terraform))
        if proven and self._publish(migration, args["publish"]):
            self._step("record", Record, init_args=args["init_args"], remove_digests=args["remove_digests"],
                       root_name=args["root_name"], reason=args["reason"],
                       rewritten=(self._phases.get("rewrite") or {}).get("files") or [])
        changed = any(result.get("changed") for result in self._phases.values()) and not self.check_mode
        failed_phase, message = outcome.first_failure(self._phases)
        if failed_phase is not None:
            raise PhaseFailed(message, changed=changed, phases=self._phases, failed_phase=failed_phase)
        return dict(changed=changed, phases=self._phases, failed_phase=None)

    def _step(self, name, action_class, **options):
        """Run one phase with the root's ``migration``; True when it did not fail."""
        raw = dict(options, migration=self._args["migration"])
        if action_class.USES_AWS:
            raw.update(self.aws_options(self._args))
        self._phases[name] = self.compose(action_class, raw, self._task_vars)
        return not self._phases[name].get("failed")

    def _object_lock(self, migration):
        """Object Lock on the state bucket (asked for; irreversible), as the root's identity."""
        bucket = migration.settings["bucket"]
        try:
            s3 = self.connection(self._args, migration.region).client("s3")
            changed, _before, after = ensure_object_lock(s3, bucket, enable_versioning=True,
                                                         check_mode=self.check_mode)
            result = dict(changed=changed, **result_of(after))
        except (ObjectLockRefused, AwsError, PhaseFailed) as exc:
            result = dict(changed=False, failed=True, msg="bucket %s: %s" % (bucket, exc))
        self._phases["object_lock"] = result
        return not result.get("failed")

    def _publish(self, migration, publish):
        """Commit (and push) the backend files: all of them, since a rerun after a run killed between rewrite
        and commit has nothing to rewrite but still something to commit; only the files that differ are."""
        if not publish["enabled"]:
            self._phases["publish"] = dict(changed=False, skipped=True,
                                           published=nothing_published("tfstate_git_commit is false"))
            return True
        try:
            done = publish_root(run_here, self._task_vars.get("inventory_hostname"), migration.root,
                                migration.backend["config_files"],
                                publish["branch"] or PUBLISH_SPEC["branch"]["default"],
                                publish["commit_message"] or PUBLISH_SPEC["commit_message"]["default"],
                                push=publish["push"], version=publish["version"] or None,
                                own_clone=publish["own_clone"] or None, check_mode=self.check_mode,
                                binary=git_binary(), repo_url=publish["repo_url"] or None)
            result = dict(changed=done["changed"], published=done["published"], replayed=done["replayed"],
                          repository=done["repository"], msg=done["msg"])
        except GitError as exc:
            result = dict(changed=False, failed=True, msg=str(exc))
        self._phases["publish"] = result
        return not result.get("failed")
