#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: fleet_info
short_description: Where every Terraform root of the fleet's ledger stands, per account, bucket and table
version_added: 0.1.0
description:
  - Reads the fleet's ledger in the state buckets O(buckets), C(tfstate-s3-backend-ledger/<key>/<stage>.json),
    one object per root and stage that the C(tfstate.s3_backend.migrate) role writes (see C(docs/fleet-roles.md)),
    and returns where every root stands - its stage (V(dual), V(lockfile), V(dynamodb) after a rollback), since
    when, its table, account, run and AWX job - with counts per account, bucket, table and stage, the roots held
    back in dual with the evidence of an old client, and the lock tables whose every root has been V(lockfile) for
    O(retire_grace).
  - Read-only - it lists and reads the ledger objects only; no root, state, lock or table is read or written.
  - An object under the ledger's prefix that cannot be read as an entry is named in RV(fleet.problems); a bucket
    whose ledger cannot be listed too, and the others are still read.
  - The environment variable C(TFSTATE_NOW) (ISO 8601 UTC) replaces the current time, for tests and simulations only.
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.info_module
  - tfstate.s3_backend.aws
options:
  buckets:
    description: The state buckets whose ledger is read.
    type: list
    elements: str
    required: true
  retire_grace:
    description:
      - How long every root of a table must have been V(lockfile) before the table counts as retirable
        (RV(retirable_tables)); V(7d), V(36h), or a number of days.
    type: str
    default: 7d
  page_size:
    description: Objects per listing page (S3's maximum is 1000).
    type: int
    default: 1000
attributes:
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 API (ListObjectsV2 and GetObject on the ledger's prefix only).
notes:
  - Needs C(s3:ListBucket) on the buckets and C(s3:GetObject) on C(tfstate-s3-backend-ledger/*) (with KMS,
    C(kms:Decrypt)); nothing else.
seealso:
  - module: tfstate.s3_backend.root_record
  - module: tfstate.s3_backend.lock_table_retirement
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read where every root stands
  tfstate.s3_backend.fleet_info:
    buckets: [acme-tfstate-prod, acme-tfstate-dev]
    retire_grace: 7d
  register: fleet

- name: Show the counts per stage
  ansible.builtin.debug:
    var: fleet.fleet.stages
"""

RETURN = r"""
fleet:
  description: The fleet view.
  returned: always
  type: dict
  contains:
    roots:
      description:
        - One row per root - C(bucket), C(key), C(account), C(region), C(table), C(stage), C(since), C(root),
          C(host), C(run_id), C(job_id), C(workspace_key_prefix), C(workspaces), C(history) (each stage and
          time), C(held_back) (the last evidence of an old client, or null) and C(pinned) (the rollback that pins
          the root on DynamoDB - C(since), C(run_id), C(job_id), C(host), C(reason) - or null).
      type: list
      elements: dict
      sample: [{"bucket": acme-tfstate, "key": app/terraform.tfstate, "stage": dual, "table": terraform-locks}]
    counts:
      description: "C({account: {bucket: {table: {stage: number}}}})."
      type: dict
      sample: {"111122223333": {"acme-tfstate": {"terraform-locks": {"dual": 3, "lockfile": 5}}}}
    stages:
      description: Roots per stage.
      type: dict
      sample: {"dual": 3, "lockfile": 5}
    tables:
      description: Roots per table and stage.
      type: dict
      sample: {"terraform-locks": {"dual": 3, "lockfile": 5}}
    held_back:
      description: The roots in dual held back by evidence of a client that locks only through DynamoDB.
      type: list
      elements: dict
      sample: [{"host": app, "bucket": acme-tfstate, "key": app/terraform.tfstate, "evidence": ["DynamoDB lock ..."]}]
    pinned:
      description:
        - The roots a rollback pinned on DynamoDB (C(migrate_target=auto) leaves them there until an explicit
          C(migrate_target=dual) or V(lockfile) run).
      type: list
      elements: dict
      sample: [{"host": app, "bucket": acme-tfstate, "key": app/terraform.tfstate, "since": "2026-12-08T03:10:00Z",
                "run_id": "ctl01-4121-99812", "job_id": "311", "root": /src/app, "reason": "INC-4711"}]
    problems:
      description: Ledger objects or buckets that could not be read.
      type: list
      elements: str
      sample: []
readable_buckets:
  description: The buckets of O(buckets) whose ledger was read (an empty ledger included).
  returned: always
  type: list
  elements: str
  sample: [acme-tfstate-prod]
unreadable_buckets:
  description: The buckets of O(buckets) whose ledger could not be read, and why (a missing bucket included).
  returned: always
  type: list
  elements: dict
  sample: [{"bucket": acme-tfstate-dev, "problem": "the ledger of bucket acme-tfstate-dev cannot be read: AccessDenied ..."}]
retirable_tables:
  description: The tables whose every root of the ledger has been V(lockfile) for O(retire_grace), with why.
  returned: always
  type: dict
  sample: {"terraform-locks": "every root (8) lockfile since 2026-11-20T10:00:00Z or earlier"}
kept_tables:
  description: The other tables of the ledger, with why they stay.
  returned: always
  type: dict
  sample: {"legacy-locks": "root app, state s3://acme-tfstate/app/terraform.tfstate is in stage dual"}
markdown:
  description: The view as Markdown, for a report file.
  returned: always
  type: str
  sample: "# Fleet ledger\n..."
generated:
  description: The time the view was made (C(TFSTATE_NOW) when set).
  returned: always
  type: str
  sample: "2026-12-08T00:00:00Z"
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule


def main():
    module = AwsModule(
        argument_spec=dict(
            buckets=dict(type="list", elements="str", required=True),
            retire_grace=dict(type="str", default="7d"),
            page_size=dict(type="int", default=1000),
        ),
        supports_check_mode=True,
    )
    now = clock.now()
    try:
        grace = clock.parse_duration(module.params["retire_grace"])
    except ValueError as exc:
        module.fail_json(msg="retire_grace: %s" % exc)
    unreadable = []
    try:
        view = ledger_store.read_fleet(module.client("s3"), module.params["buckets"], module.params["page_size"], unreadable)
    except AwsError as exc:
        module.fail_aws(exc)
    retirable, kept = ledger.retirable_tables(view, now, grace)
    generated = clock.utc_text(now)
    missing = set(item["bucket"] for item in unreadable)
    module.exit_json(changed=False, fleet=view, retirable_tables=retirable, kept_tables=kept, generated=generated,
                     markdown=ledger.fleet_markdown(view, generated, retirable, kept), unreadable_buckets=unreadable,
                     readable_buckets=sorted(set(bucket for bucket in module.params["buckets"] if bucket) - missing))


if __name__ == "__main__":
    main()
