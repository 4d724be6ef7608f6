# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_verify
short_description: Prove with terraform that a migrated Terraform root locks through its new backend settings
version_added: 0.1.0
description:
  - The phase of one root's migration that proves the new locking with the real binary instead of trusting the
    files. It runs on the Ansible controller (an action plugin; nothing is sent to the target host) and is normally
    used by the C(tfstate.s3_backend.migrate) role twice, after M(tfstate.s3_backend.root_reinit).
  - With O(expect=refused), while the maintenance lock of M(tfstate.s3_backend.root_freeze) is still held, runs
    C(<binary> plan -no-color -input=false -lock-timeout=0s) in the root. The plan must be refused with
    C(Error acquiring the state lock) naming the maintenance lock's ID
    (RV(tfstate.s3_backend.root_preflight#module:migration.freeze.lock_id)) and a C(PutObject) - that is, by the
    C(.tflock) object in S3, which only happens when terraform really locks with C(use_lockfile). A plan that
    succeeds, or is refused in any other way (by the DynamoDB item only, by an error), fails the task.
    For a rollback (RV(tfstate.s3_backend.root_preflight#module:migration.target) V(dynamodb)) it is the other way
    round - the plan must be refused by the maintenance lock's DynamoDB lock item (its ID, and no C(PutObject)),
    which only happens when terraform locks with C(dynamodb_table) again.
  - With O(expect=planned), after the maintenance lock is released, runs C(<binary> plan -no-color -input=false
    -lock-timeout=60s), which must succeed (exit code 0). When the preflight took a baseline plan
    (RV(tfstate.s3_backend.root_preflight#module:migration.baseline_rc)), the plan runs with
    C(-detailed-exitcode), exit codes 0 and 2 both count as success, and RV(matches_baseline) says whether the exit
    code is the baseline's.
  - The plans run in the C(default) workspace (C(TF_WORKSPACE=default)), with the binary the preflight checked, in
    the controller's environment with the task's AWS options as terraform reads them (O(profile) as C(AWS_PROFILE),
    O(region) as C(AWS_REGION), O(endpoint_url) as C(AWS_ENDPOINT_URL), O(aws_ca_bundle) as C(AWS_CA_BUNDLE); unset
    ones left out), C(TF_IN_AUTOMATION=1), C(TF_INPUT=0) and C(CHECKPOINT_DISABLE=1). A plan changes nothing;
    nothing is applied.
  - >-
    The task fails with C(terraform in <root> was not refused through the .tflock object of <bucket>/<key> while the
    maintenance lock <id> was held: <terraform's first error, or "the plan succeeded">) (O(expect=refused)) or
    C(terraform plan failed in <root> after the cut-over: <terraform's first error>) (O(expect=planned)), with
    RV(verified=false) and RV(rc). A plan that runs longer than O(terraform_timeout) is stopped (RV(rc=124)).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged. Its C(root), C(terraform.binary), C(freeze.lock_id), C(backend.settings) and
        C(baseline_rc) are used.
    type: dict
    required: true
  expect:
    description:
      - V(refused) proves that a plan is refused by the C(.tflock) object while the maintenance lock is held.
      - V(planned) proves that a plan succeeds once it is released.
    type: str
    choices: [refused, planned]
    required: true
  terraform_timeout:
    description:
      - The longest the plan may run, in seconds.
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
        O(profile), O(region), O(endpoint_url) and O(aws_ca_bundle) are given to terraform (its environment); no AWS
        call is made here.
  check_mode:
    support: full
    description:
      - Runs nothing and returns RV(verified=null) (the root was not changed, so there is nothing to prove yet).
  diff_mode:
    support: none
    description: Nothing changes.
  platform:
    platforms: all
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Terraform runs on the
        controller and talks to the root's backend with the credentials its environment gives.
seealso:
  - module: tfstate.s3_backend.root_freeze
  - module: tfstate.s3_backend.root_reinit
  - module: tfstate.s3_backend.root_result
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    baseline_plan: true
  register: preflight

- name: Cut over under the maintenance lock
  block:
    - name: Take the maintenance lock
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"

    - name: Rewrite the backend configuration
      tfstate.s3_backend.root_rewrite:
        migration: "{{ preflight.migration }}"

    - name: Re-initialise the root
      tfstate.s3_backend.root_reinit:
        migration: "{{ preflight.migration }}"

    - name: Prove that terraform is refused through the .tflock object while the maintenance lock is held
      tfstate.s3_backend.root_verify:
        migration: "{{ preflight.migration }}"
        expect: refused
      register: locked

  always:
    - name: Release the maintenance lock
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"
        state: absent

- name: Prove that terraform plans once the maintenance lock is released
  tfstate.s3_backend.root_verify:
    migration: "{{ preflight.migration }}"
    expect: planned
    profile: network-prod
  register: planned

- name: Show whether the plan after the cut-over has the baseline's exit code
  ansible.builtin.debug:
    var: planned.matches_baseline
"""

RETURN = r"""
verified:
  description: Whether terraform behaved as O(expect) says; null in check mode.
  returned: always
  type: bool
  sample: true
locked_plan_refused:
  description: The plan was refused by the C(.tflock) object while the maintenance lock was held.
  returned: when O(expect=refused) and successful, not in check mode
  type: bool
  sample: true
plan_ok:
  description: The plan succeeded once the maintenance lock was released.
  returned: when O(expect=planned) and successful, not in check mode
  type: bool
  sample: true
matches_baseline:
  description:
    - Whether the plan's C(-detailed-exitcode) equals the baseline's (both V(0) no changes, or both V(2) changes).
    - Null without a baseline plan.
  returned: when O(expect=planned) and successful, not in check mode
  type: bool
  sample: true
rc:
  description: The plan's exit code (V(124) when it timed out, V(127) when the binary could not start).
  returned: on failure
  type: int
  sample: 0
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: In check mode that terraform was not run; on failure the reason.
  returned: in check mode, and on failure
  type: str
  sample: >-
    terraform in /srv/repos/network was not refused through the .tflock object of acme-tfstate/network/terraform.tfstate
    while the maintenance lock 9d6b1a8e-3f7c-5d0e-8a1b-2c3d4e5f6a7b was held: the plan succeeded
"""
