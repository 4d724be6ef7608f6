#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: root_plan
short_description: Initialise a Terraform root against its backend and plan it, taking and releasing the state lock
version_added: 0.1.0
description:
  - Runs C(terraform init -reconfigure) in O(root) with O(init_args) (and C(-backend-config=use_path_style=true) with a
    custom O(endpoint_url)), then C(terraform plan -lock-timeout=<lock_timeout>), which takes the state lock and
    releases it. Used by the C(tfstate.s3_backend.bootstrap) role to prove each new backend works.
  - Terraform's environment is the host's, with the task's AWS options as terraform reads them - O(profile) as
    C(AWS_PROFILE), O(region) as C(AWS_REGION), O(endpoint_url) as C(AWS_ENDPOINT_URL), O(aws_ca_bundle) as
    C(AWS_CA_BUNDLE) (unset ones left out) - C(TF_IN_AUTOMATION=1), C(TF_INPUT=0) and C(CHECKPOINT_DISABLE=1), and no
    standard input, so it never prompts.
  - Only the root's C(.terraform) directory changes (a plan applies nothing), so the task never reports a change.
  - The task fails when a command exits non-zero, with C(terraform init failed in <root>) or
    C(terraform plan failed in <root>) followed by Terraform's first error and the file and line it names,
    RV(rc) and RV(cmd). A command that runs longer than O(terraform_timeout) is stopped (RV(rc=124)); a missing
    binary gives RV(rc=127).
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  root:
    description:
      - The root's directory.
    type: path
    required: true
  terraform_bin:
    description:
      - The terraform or tofu binary.
    type: str
    default: terraform
  init_args:
    description:
      - The root's extra C(terraform init) arguments (C(-backend-config=...)).
    type: list
    elements: str
    default: []
  lock_timeout:
    description:
      - How long the plan waits for the state lock (terraform's C(-lock-timeout)).
    type: str
    default: 60s
  terraform_timeout:
    description:
      - The longest one command may run, in seconds.
    type: int
    default: 900
extends_documentation_fragment:
  - tfstate.s3_backend.aws
attributes:
  action_group:
    support: N/A
    membership: [tfstate.s3_backend.aws]
    description:
      - Use C(group/tfstate.s3_backend.aws) in C(module_defaults) to set the AWS options once. Of those,
        O(profile), O(region), O(endpoint_url) and O(aws_ca_bundle) are given to terraform (its environment); the
        module makes no AWS call itself.
  check_mode:
    support: full
    description: Returns the commands that would run, without running them.
  diff_mode:
    support: none
    description: Terraform's own files are not shown.
  platform:
    platforms: posix
    support: full
    description: Runs terraform on the target host, in the root there.
seealso:
  - module: tfstate.s3_backend.terraform_root_info
"""

EXAMPLES = r"""
- name: Prove that a new backend works
  tfstate.s3_backend.root_plan:
    root: /srv/repos/network
    init_args: [-backend-config=prod.tfbackend]
    profile: network-prod
    region: eu-west-1
"""

RETURN = r"""
cmd:
  description: The commands run (or, in check mode, that would run), init first; up to the one that failed.
  returned: always
  type: list
  elements: list
  sample: [[terraform, init, -no-color, -input=false, -reconfigure, -backend-config=prod.tfbackend],
           [terraform, plan, -no-color, -input=false, -lock-timeout=60s]]
rc:
  description: The exit code of the last command run.
  returned: when a command ran
  type: int
  sample: 0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AWS_ARGUMENT_SPEC
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import (
    aws_env,
    first_error,
    init_argv,
    plan_argv,
    run,
    terraform_env,
)


def main():
    spec = dict(AWS_ARGUMENT_SPEC)
    spec.update(
        root=dict(type="path", required=True),
        terraform_bin=dict(type="str", default="terraform"),
        init_args=dict(type="list", elements="str", default=[]),
        lock_timeout=dict(type="str", default="60s"),
        terraform_timeout=dict(type="int", default=900),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    commands = [("init", init_argv(params["terraform_bin"], params["init_args"], params["endpoint_url"])),
                ("plan", plan_argv(params["terraform_bin"], params["lock_timeout"]))]
    cmd = [argv for _name, argv in commands]
    if module.check_mode:
        module.exit_json(changed=False, cmd=cmd, msg="check mode: terraform was not run in %s" % params["root"])
    env = terraform_env(extra=aws_env(params))
    rc = None
    for index, (name, argv) in enumerate(commands):
        rc, out, err = run(argv, params["root"], env, params["terraform_timeout"])
        if rc != 0:
            module.fail_json(msg="terraform %s failed in %s: %s" % (name, params["root"], first_error(err or out)),
                             rc=rc, cmd=cmd[:index + 1])
    module.exit_json(changed=False, cmd=cmd, rc=rc)


if __name__ == "__main__":
    main()
