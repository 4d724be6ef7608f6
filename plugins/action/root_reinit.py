# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_reinit: terraform init -reconfigure, read back (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import (
    initialised_backend,
    terragrunt_working_dir,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import (
    first_error,
    init_argv,
    run,
    runner,
)
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


class ActionModule(RootAction):
    PHASE = "reinit"
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        init_args=dict(type="list", elements="str", default=[]),
        terraform_timeout=dict(type="int", default=900),
    )

    def phase(self, args, task_vars):
        migration = self.migration_of(args)
        root = migration.root
        binary, extra = runner(args["migration"])
        argv = init_argv(binary, args["init_args"], args.get("endpoint_url"))
        command = "%s init -reconfigure" % ("terragrunt" if migration.terragrunt_bin else "terraform")
        if self.check_mode:
            return dict(changed=True, cmd=argv, initialised_lock_mode=None,
                        msg="check mode: %s would run in %s" % (command, root))
        rc, out, err = run(argv, root, self.terraform_env(args, **extra),
                           args["terraform_timeout"])
        if rc != 0:
            raise PhaseFailed("%s failed in %s: %s" % (command, root, first_error(err or out)), rc=rc, cmd=argv)
        # terragrunt may run terraform in a copy of the root under .terragrunt-cache: read its init there.
        workdir = terragrunt_working_dir(root) if migration.terragrunt_bin else root
        initialised = initialised_backend(workdir) or {}
        return dict(changed=True, cmd=argv, initialised_lock_mode=initialised.get("lock_mode"))
