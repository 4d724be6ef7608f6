# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_reinit
short_description: Re-initialise a Terraform root with its new backend settings during its migration
version_added: 0.1.0
description:
  - The phase of one root's migration that makes Terraform use the new backend settings. It runs on the Ansible
    controller (an action plugin; nothing is sent to the target host) and is normally used by the
    C(tfstate.s3_backend.migrate) role, under the maintenance lock of M(tfstate.s3_backend.root_freeze), after
    M(tfstate.s3_backend.root_rewrite).
  - Runs C(<binary> init -no-color -input=false -reconfigure) followed by O(init_args) in the root
    (RV(tfstate.s3_backend.root_preflight#module:migration.root)), with the binary the preflight checked
    (RV(tfstate.s3_backend.root_preflight#module:migration.terraform.binary)). With O(endpoint_url) set (an
    S3-compatible endpoint), C(-backend-config=use_path_style=true) is added unless O(init_args) has it.
  - The command's environment is the controller's, with the task's AWS options as terraform reads them (O(profile)
    as C(AWS_PROFILE), O(region) as C(AWS_REGION), O(endpoint_url) as C(AWS_ENDPOINT_URL), O(aws_ca_bundle) as
    C(AWS_CA_BUNDLE); unset ones left out), C(TF_IN_AUTOMATION=1), C(TF_INPUT=0) and C(CHECKPOINT_DISABLE=1), and no
    standard input, so it never prompts.
  - C(-reconfigure) only changes the backend settings recorded in C(.terraform/terraform.tfstate); the state
    stays where it is (same bucket and key), so nothing is migrated. Afterwards the lock mode recorded there is
    read back and returned as RV(initialised_lock_mode).
  - Always reports a change, since it rewrites C(.terraform/terraform.tfstate); the role runs it only when the
    root needs something.
  - The task fails when the command exits non-zero, with
    C(terraform init -reconfigure failed in <root>) followed by Terraform's first error and the file and line it
    names, RV(rc) and RV(cmd). A command that runs longer than O(terraform_timeout) is stopped (RV(rc=124)); a
    missing binary gives RV(rc=127).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged. Its C(root) and C(terraform.binary) are used.
    type: dict
    required: true
  init_args:
    description:
      - The root's C(terraform init) arguments, such as C(-backend-config=backend.hcl), the same as given to
        M(tfstate.s3_backend.root_preflight).
    type: list
    elements: str
    default: []
  terraform_timeout:
    description:
      - The longest the command may run, in seconds.
    type: int
    default: 900
extends_documentation_fragment:
  - tfstate.s3_backend.aws
attributes:
  action:
    support: full
    description: An action plugin; the whole phase runs on the controller, terraform included.
  action_group:
    support: N/A
    membership: [tfstate.s3_backend.aws]
    description:
      - Use C(group/tfstate.s3_backend.aws) in C(module_defaults) to set the AWS options once. Of those,
        O(profile), O(region), O(endpoint_url) and O(aws_ca_bundle) are given to terraform (its environment), and
        O(endpoint_url) adds C(-backend-config=use_path_style=true); no AWS call is made here.
  check_mode:
    support: full
    description: Returns the command that would run, without running it (RV(initialised_lock_mode) is null).
  diff_mode:
    support: none
    description: Terraform's own files are not shown.
  platform:
    platforms: all
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Terraform runs on the
        controller and talks to the root's backend itself.
seealso:
  - module: tfstate.s3_backend.root_rewrite
  - module: tfstate.s3_backend.root_verify
  - module: tfstate.s3_backend.root_preflight
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    init_args:
      - -backend-config=backend.hcl
    profile: network-prod
  register: preflight

- name: Rewrite the backend configuration
  tfstate.s3_backend.root_rewrite:
    migration: "{{ preflight.migration }}"
  when: preflight.migration.action == 'rewrite'

- name: Re-initialise the root with the new backend settings
  tfstate.s3_backend.root_reinit:
    migration: "{{ preflight.migration }}"
    init_args:
      - -backend-config=backend.hcl
    profile: network-prod
    terraform_timeout: 600
  register: reinit
  when: preflight.migration.action in ['rewrite', 'init']

- name: Stop when terraform did not take the target lock mode
  ansible.builtin.assert:
    that: reinit.initialised_lock_mode == preflight.migration.target
  when: reinit is changed and not ansible_check_mode
"""

RETURN = r"""
cmd:
  description: The command run (in check mode, that would run).
  returned: success, and on a failed command
  type: list
  elements: str
  sample: [terraform, init, -no-color, -input=false, -reconfigure, -backend-config=backend.hcl]
initialised_lock_mode:
  description:
    - The lock mode recorded by this C(terraform init), read back from C(.terraform/terraform.tfstate),
      V(dual), V(lockfile), V(dynamodb) or V(none).
    - Null in check mode, or when the file cannot be read.
  returned: success
  type: str
  sample: dual
rc:
  description: The exit code of the failed command (V(124) when it timed out, V(127) when it could not start).
  returned: on a failed command
  type: int
  sample: 1
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: In check mode what would run; on failure the reason.
  returned: in check mode, and on failure
  type: str
  sample: >-
    terraform init -reconfigure failed in /srv/repos/network: error configuring S3 Backend: no valid credential
    sources for S3 Backend found.
"""
