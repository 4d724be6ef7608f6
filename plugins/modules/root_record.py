# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_record
short_description: Record a Terraform root's measured cut-over next to its state and remove stale DynamoDB digests
version_added: 0.1.0
description:
  - The last phase that changes anything in one root's migration. It runs on the Ansible controller (an action
    plugin; nothing is sent to the target host) and is normally used by the C(tfstate.s3_backend.migrate) role after
    the cut-over was proven (M(tfstate.s3_backend.root_verify)) and the backend files were published.
  - Reads the root's backend back from its files and from C(.terraform/terraform.tfstate) (with O(init_args)); both
    must say the target lock mode (RV(tfstate.s3_backend.root_preflight#module:migration.target)), else nothing is
    recorded and the task fails.
  - Then writes the migration record, C(<key>.tfstate-s3-backend.json) in the state bucket next to the state
    (encrypted like the backend - C(aws:kms) with its C(kms_key_id), else C(AES256) with C(encrypt)), the object
    M(tfstate.s3_backend.migration_record) reads - the lock mode, the DynamoDB table the root used, the cut-over
    time (kept from an existing record of the same mode, so reruns keep the first cut-over), the root (O(root_name),
    else RV(tfstate.s3_backend.root_preflight#module:migration.root_name), without credentials), the collection
    version, and who wrote it (inventory host, bucket, key,
    workspaces, run ID, AWX job ID, time). It replaces the C(pending) intent M(tfstate.s3_backend.root_freeze)
    wrote, which marks the cut-over as finished. The record is what later runs and the fleet view read; it is written on
    every run that gets here, so C(changed) is always V(true).
  - Also writes the root's stage to the fleet's ledger, C(tfstate-s3-backend-ledger/<key>/<stage>.json) in the same
    bucket (stage, time, table, bucket, key, account, region, host, run and AWX job, collection version, O(reason);
    see C(docs/fleet-roles.md)), when the stage is news for the root (a rerun writes nothing there). A V(dynamodb)
    stage (a rollback) is C(pinned) - C(migrate_target=auto) leaves the root there. A V(dual) or V(lockfile) stage
    written over such a pin (an explicit run) names the pin it lifted in the entry and in RV(lifted_pin). The environment variable C(TFSTATE_NOW)
    (ISO 8601 UTC) replaces the entry's time, for tests and simulations only.
  - After a V(lockfile) cut-over, with O(remove_digests=true) and a lock table that still exists
    (RV(tfstate.s3_backend.root_preflight#module:migration.freeze_table)), deletes the C(<bucket>/<state key>-md5)
    digest items of every workspace's state from that table. A stale digest makes any client that still has
    C(dynamodb_table) (and a later rollback) fail to read the state.
  - The state objects themselves are never read or written.
  - >-
    The task fails with C(after the cut-over the files say <mode> and the last terraform init <mode>, not <target>:
    nothing recorded), with C(after the cut-over the backend cannot be read back: <file>:<line>: <reason>), or on an
    AWS error (the operation and the object or table item; see RV(aws_error_code)).
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged. Its C(root), C(root_name), C(target), C(backend.settings), C(region),
        C(dynamodb_table), C(freeze_table), C(workspaces), C(host), C(run_id) and C(job_id) are used.
    type: dict
    required: true
  init_args:
    description:
      - The root's C(terraform init) arguments, the same as given to M(tfstate.s3_backend.root_preflight), so the
        backend reads back the same way.
    type: list
    elements: str
    default: []
  rewritten:
    description:
      - The C(files) M(tfstate.s3_backend.root_rewrite) returned in this run, with their C(fingerprint) and
        C(lock_settings_after).
      - The lock mode is measured now. A backend file whose bytes are those the preflight parsed (the contract's
        C(backend.lock_sources)) or those listed here keeps that parse; any other file makes the root be read
        again. The last init is read from C(.terraform) now.
    type: list
    elements: dict
    default: []
  remove_digests:
    description:
      - After a V(lockfile) cut-over, delete the digest items of the root's states from the old lock table.
      - Nothing is deleted after a V(dual) cut-over, where DynamoDB clients still need them.
    type: bool
    default: true
  root_name:
    description:
      - How the record names the root, for example its repository URL. Any C(user:password@) in it is removed.
      - Unset, RV(tfstate.s3_backend.root_preflight#module:migration.root_name) (the preflight's
        O(tfstate.s3_backend.root_preflight#module:root_name), else the root's directory).
    type: str
  reason:
    description:
      - Why the root moves, written as C(reason) into the ledger entry when the stage is news (a rollback's
        C(rollback_reason)). Unset or empty, the entry has no reason. While a rollback pins the root, the rows,
        artifacts and fleet views of later C(migrate_target=auto) runs show it.
    type: str
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description:
      - Reads and writes nothing, and returns C(changed=false); the root was not cut over, so there is nothing to
        record.
  diff_mode:
    support: none
    description: The record written is returned in RV(record).
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Talks to the S3 and
        DynamoDB APIs of AWS or of a compatible endpoint, in the root's region first
        (RV(tfstate.s3_backend.root_preflight#module:migration.region)), else O(region).
notes:
  - Needs C(s3:GetObject) and C(s3:PutObject) on the record (with KMS, C(kms:GenerateDataKey) and C(kms:Decrypt)),
    and for the digests C(dynamodb:BatchGetItem) or C(dynamodb:Scan) and C(dynamodb:DeleteItem) on the table.
seealso:
  - module: tfstate.s3_backend.migration_record
  - module: tfstate.s3_backend.root_verify
  - module: tfstate.s3_backend.root_result
  - module: tfstate.s3_backend.lock_table
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    target: lockfile
    region: eu-west-1
  register: preflight

- name: Prove that terraform plans after the cut-over
  tfstate.s3_backend.root_verify:
    migration: "{{ preflight.migration }}"
    expect: planned
  register: planned

- name: Record the measured cut-over next to the state and remove the stale digests
  tfstate.s3_backend.root_record:
    migration: "{{ preflight.migration }}"
    root_name: https://git.example.com/infra/network.git
    region: eu-west-1
  register: recorded

- name: Show when the root was cut over and how many digests went
  ansible.builtin.debug:
    msg: "{{ recorded.record.cutover_time }}, {{ recorded.digests | length }} digest items removed"
  when: not ansible_check_mode
"""

RETURN = r"""
record:
  description: The migration record written.
  returned: success, not in check mode
  type: dict
  contains:
    mode:
      description: The lock mode, V(dual) or V(lockfile).
      type: str
      sample: lockfile
    dynamodb_table:
      description: The DynamoDB table the root locked with (kept from the existing record of the same mode).
      type: str
      sample: terraform-locks
    cutover_time:
      description: When the root first reached this mode (UTC, RFC 3339).
      type: str
      sample: "2026-11-29T20:05:52Z"
    root:
      description: O(root_name), else the preflight's C(root_name), without credentials.
      type: str
      sample: https://git.example.com/infra/network.git
    collection_version:
      description: The version of this collection that wrote the record.
      type: str
      sample: 0.1.0
    host:
      description: The inventory host of the root.
      type: str
      sample: network
    bucket:
      description: The state bucket.
      type: str
      sample: acme-tfstate
    key:
      description: The state key.
      type: str
      sample: network/terraform.tfstate
    workspaces:
      description: The workspaces whose states were cut over.
      type: list
      elements: str
      sample: [default, staging]
    run_id:
      description: The ID of the run that wrote the record.
      type: str
      sample: ctl01-48213-771204
    job_id:
      description: The AWX job ID, when there is one.
      type: str
      sample: "1234"
    recorded_time:
      description: When the record was written (UTC, RFC 3339).
      type: str
      sample: "2026-11-29T20:06:03Z"
record_key:
  description: The record's object key.
  returned: success, not in check mode
  type: str
  sample: network/terraform.tfstate.tfstate-s3-backend.json
digests:
  description: The digest items deleted, one per state; empty when none were.
  returned: success, not in check mode
  type: list
  elements: dict
  contains:
    state_path:
      description: C(<bucket>/<state key>) of the state.
      type: str
      sample: acme-tfstate/network/terraform.tfstate
    digest_table_key:
      description: The deleted item's key in the table (its C(LockID)).
      type: str
      sample: acme-tfstate/network/terraform.tfstate-md5
      version_added: 0.1.0
    action:
      description: Always V(delete).
      type: str
      sample: delete
    before:
      description: The digest the item held.
      type: str
      sample: 5d41402abc4b2a76b9719d911017c592
    after:
      description: Always null.
      type: str
      sample: null
    reason:
      description: Why.
      type: str
      sample: digest removed
lifted_pin:
  description:
    - The rollback's pin this run moved the root off (its time C(since), C(run_id), C(job_id), C(host) and
      C(reason)), null when the root was not pinned (or the ledger already had the stage).
  returned: success, not in check mode
  type: dict
  sample: {"since": "2026-12-08T03:10:00Z", "run_id": "ctl01-4121-99812", "job_id": "311", "host": app,
           "reason": "INC-4711: lock errors in the payments pipeline"}
ledger_key:
  description: The ledger object written for the root's new stage, or null when the ledger already had that stage.
  returned: success, not in check mode
  type: str
  sample: tfstate-s3-backend-ledger/network/terraform.tfstate/lockfile.json
lock_mode_after:
  description: The lock mode of the root's files, read back.
  returned: success, not in check mode
  type: str
  sample: lockfile
initialised_lock_mode_after:
  description: The lock mode of the root's last C(terraform init), read back.
  returned: success, not in check mode
  type: str
  sample: lockfile
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: In check mode that no record was written; on failure the reason.
  returned: in check mode, and on failure
  type: str
  sample: >-
    after the cut-over the files say lockfile and the last terraform init dual, not lockfile: nothing recorded
aws_error_code:
  description: The AWS error code of a failed call.
  returned: on an AWS error
  type: str
  sample: AccessDenied
aws_operation:
  description: The API operation that failed.
  returned: on an AWS error
  type: str
  sample: PutObject
aws_resource:
  description: The object or table item the failed call was about.
  returned: on an AWS error
  type: str
  sample: acme-tfstate/network/terraform.tfstate.tfstate-s3-backend.json
http_status:
  description: The HTTP status of the failed call.
  returned: on an AWS error
  type: int
  sample: 403
"""
