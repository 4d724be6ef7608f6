# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for tfstate.s3_backend.root_reinit: terraform init -reconfigure, read back (docs in plugins/modules)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_backend import initialised_backend
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import (
    first_error,
    init_argv,
    run,
    terraform_env,
)
from ansible_collections.tfstate.s3_backend.plugins.plugin_utils.root_action import (
    MIGRATION_OPTION,
    PhaseFailed,
    RootAction,
)


class ActionModule(RootAction):
    ARGUMENT_SPEC = dict(
        migration=MIGRATION_OPTION,
        init_args=dict(type="list", elements="str", default=[]),
        terraform_env=dict(type="dict", default={}),
        terraform_timeout=dict(type="int", default=900),
    )

    def phase(self, args, task_vars):
        migration = args["migration"]
        root = migration["root"]
        argv = init_argv(migration["terraform"]["binary"], args["init_args"], args.get("endpoint_url"))
        if self.check_mode:
            return dict(changed=True, cmd=argv, initialised_lock_mode=None,
                        msg="check mode: terraform init -reconfigure would run in %s" % root)
        rc, out, err = run(argv, root, terraform_env(extra=args["terraform_env"]), args["terraform_timeout"])
        if rc != 0:
            raise PhaseFailed("terraform init -reconfigure failed in %s: %s" % (root, first_error(err or out)),
                              rc=rc, cmd=argv)
        initialised = initialised_backend(root) or {}
        return dict(changed=True, cmd=argv, initialised_lock_mode=initialised.get("lock_mode"))
