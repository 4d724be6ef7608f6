# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_freeze
short_description: Take or release the maintenance lock on every workspace of a Terraform root during its migration
version_added: 0.1.0
description:
  - The phase of one root's migration that freezes its states while the backend changes. It runs on the Ansible
    controller (an action plugin; nothing is sent to the target host) and is normally used by the
    C(tfstate.s3_backend.migrate) role, after M(tfstate.s3_backend.root_preflight) and around
    M(tfstate.s3_backend.root_rewrite), M(tfstate.s3_backend.root_reinit) and M(tfstate.s3_backend.root_verify).
  - With O(state=present), takes the maintenance lock on the state of every workspace in
    RV(tfstate.s3_backend.root_preflight#module:migration.workspaces), exactly as Terraform locks, so that no
    C(terraform plan) or C(apply) runs meanwhile - a conditional PutObject (C(If-None-Match) V(*)) of the
    C(.tflock) object, encrypted as the backend says, and, when the preflight found the DynamoDB lock table
    (RV(tfstate.s3_backend.root_preflight#module:migration.freeze_table)), a conditional PutItem in that table
    too, so clients of either locking are held off. The lock has the ID, C(Info) (run and lease) and
    C(OperationTypeMigrate) operation of the run, C(Who) is C(tfstate.s3_backend@<controller>).
  - Before taking a workspace's lock, the maintenance locks of earlier runs that the preflight proved stale
    (RV(tfstate.s3_backend.root_preflight#module:migration.stale_freezes)) are released, by their ID only.
  - A lock already held under this run's ID counts as taken, so a retried freeze changes nothing.
  - Once every workspace is locked, and not in check mode, the migration record is read again under the lock; when
    another run's intent in it is live, or another run wrote the record since the preflight read it, the task
    fails naming that run (run ID, controller, job, started) and writes nothing, and the thaw releases the lock;
    so of two runs that overlap on a root, one cuts it over and the other stops.
    Else the cut-over's intent is written into the migration
    record next to the state (C(<key>.tfstate-s3-backend.json), encrypted like the backend) - the record keeps its
    current mode and cut-over time and gets C(pending) (the target, the run ID and job, the controller, the
    playbook's process and its start, the run's start, the lease end and the DynamoDB table;
    RV(tfstate.s3_backend.root_preflight#module:migration.intent)), so a later run can tell a live cut-over (it
    stops) from one that did not finish (it resumes it), and knows which table its maintenance lock may still
    hold, even once the files no longer name it. M(tfstate.s3_backend.root_record) replaces it at the end.
  - With O(state=absent), releases this run's maintenance lock in every workspace and store, by its ID only.
    Each lock is re-read and deleted conditionally on what was read (S3 C(If-Match) on its ETag, DynamoDB a
    condition on C(Info)), so any other lock is kept and listed in RV(kept) with its reason; that is not a
    failure. The role runs this in an C(always) section, whatever happened in between.
  - The state objects themselves are never read or written.
  - >-
    With O(state=present) the task fails when a lock is held by anyone else, with the message
    C(cannot freeze <bucket>/<state key>: a lock is held on <bucket>/<state key> ...) naming the store, the
    holder, the lock ID, the operation and the creation time; a lock of another run of this collection (its
    maintenance lock, or a terraform lock taken while its intent is live, such as its verification plan's) is
    named as that run. The locks taken on the workspaces before are
    listed in RV(frozen) and stay held until O(state=absent) releases them. An AWS error fails the task
    with the operation and the bucket, object or table (see RV(aws_error_code)).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged. Its C(backend.settings) (bucket, key, C(workspace_key_prefix), encryption),
        C(workspaces), C(freeze_table), C(stale_freezes), C(freeze), C(controller) and C(region) are used, and for
        the record C(host), C(root_name), C(target), C(lock_mode_before), C(dynamodb_table), C(run_id), C(job_id),
        C(started), C(record_before) and C(intent).
    type: dict
    required: true
  state:
    description:
      - V(present) takes the maintenance lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description:
      - Reads the locks and reports what would be taken or released, and fails the same way on a held lock,
        without writing a lock or the record.
  diff_mode:
    support: none
    description: The locks taken and released are in RV(frozen), RV(released) and RV(kept).
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Talks to the S3 and
        DynamoDB APIs of AWS or of a compatible endpoint, in the root's region first
        (RV(tfstate.s3_backend.root_preflight#module:migration.region)), else O(region).
notes:
  - Needs C(s3:GetObject), C(s3:PutObject) and C(s3:DeleteObject) on the C(.tflock) objects, C(s3:GetObject) and
    C(s3:PutObject) on the migration record and, with a lock table, C(dynamodb:GetItem), C(dynamodb:PutItem) and
    C(dynamodb:DeleteItem) on it.
  - The freeze does not wait for a held lock; the root stops and a later run tries again.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_verify
  - module: tfstate.s3_backend.lockfile
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    region: eu-west-1
  register: preflight

- name: Change the root under the maintenance lock
  when: preflight.migration.action != 'none'
  block:
    - name: Take the maintenance lock on every workspace's state, in both stores
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"
        region: eu-west-1
      register: freeze

    - name: Rewrite the backend configuration
      tfstate.s3_backend.root_rewrite:
        migration: "{{ preflight.migration }}"

  always:
    - name: Release the maintenance lock, whatever happened
      tfstate.s3_backend.root_freeze:
        migration: "{{ preflight.migration }}"
        state: absent
        region: eu-west-1
"""

RETURN = r"""
frozen:
  description: The states locked, as C(<bucket>/<state key>), in workspace order (in check mode, that would be).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [acme-tfstate/network/terraform.tfstate, acme-tfstate/env:/staging/network/terraform.tfstate]
released:
  description:
    - The locks released (in check mode, that would be), one per store and state, with the fields of
      M(tfstate.s3_backend.lockfile_info)'s C(locks) entries.
    - With O(state=present), the stale maintenance locks of earlier runs; with O(state=absent), this run's.
  returned: always
  type: list
  elements: dict
  sample:
    - store: s3
      bucket: acme-tfstate
      lock_key: network/terraform.tfstate.tflock
      state_path: acme-tfstate/network/terraform.tfstate
      workspace: default
      id: 9d6b1a8e-3f7c-5d0e-8a1b-2c3d4e5f6a7b
      operation: OperationTypeMigrate
      who: tfstate.s3_backend@ctl01
kept:
  description:
    - The locks found but not released, each with a C(kept_reason) (for example C(held under another lock ID)).
  returned: when O(state=absent)
  type: list
  elements: dict
  sample:
    - store: dynamodb
      table: terraform-locks
      table_key: acme-tfstate/network/terraform.tfstate
      id: 4087d3a5-d547-0952-e411-8a96dae0b1b1
      operation: OperationTypeApply
      kept_reason: held under another lock ID
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: Why the freeze failed.
  returned: on failure
  type: str
  sample: >-
    cannot freeze acme-tfstate/network/terraform.tfstate: a lock is held on acme-tfstate/network/terraform.tfstate
    (S3) by runner@ci-42, ID 4087d3a5-d547-0952-e411-8a96dae0b1b1, operation OperationTypeApply,
    since 2026-11-29T20:01:12.123456000Z
aws_error_code:
  description: The AWS error code of a failed call.
  returned: on an AWS error
  type: str
  sample: AccessDenied
aws_operation:
  description: The API operation that failed.
  returned: on an AWS error
  type: str
  sample: PutItem
aws_resource:
  description: The object or table item the failed call was about.
  returned: on an AWS error
  type: str
  sample: DynamoDB table terraform-locks item acme-tfstate/network/terraform.tfstate
http_status:
  description: The HTTP status of the failed call.
  returned: on an AWS error
  type: int
  sample: 400
"""
