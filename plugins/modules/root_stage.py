# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: root_stage
short_description: Decide the one stage a Terraform root moves this run under migrate_target=auto
version_added: 0.1.0
description:
  - The first phase of one root's migration when the C(tfstate.s3_backend.migrate) role runs with
    C(migrate_target=auto). It runs on the Ansible controller (an action plugin; nothing is sent to the target host).
  - Reads the root's backend from its files (with O(init_args)) and the root's entries in the fleet's ledger,
    C(tfstate-s3-backend-ledger/<key>/<stage>.json) in its state bucket (see C(docs/fleet-roles.md)), and decides
    one step (RV(stage.status)) -
    a root a rollback left on DynamoDB (its ledger stage is a C(pinned) V(dynamodb) entry) is V(pinned) - it stays,
    whatever its files say, and its row names the rollback's time, run, job and reason (RV(stage.pin)), until an
    explicit C(migrate_target=dual) or V(lockfile) run of that root moves it on (that run's ledger entry and row
    name the pin it lifted, C(lifted_pin));
    V(dynamodb) files move to V(dual);
    V(dual) files move to V(lockfile) once the ledger has had the root in V(dual) for O(dual_grace) with no evidence
    of a client that locks only through DynamoDB, else the root stays (V(waiting), or V(held) with the evidence);
    V(lockfile) files are V(done) (or recorded, when the ledger does not say so yet).
  - "Evidence, read from the root's locks in both stores for every workspace: a DynamoDB lock item without a
    matching C(.tflock) object (dual and lockfile clients take the object first), and a lock written by a Terraform
    older than 1.10. This collection's maintenance locks never count. Evidence seen now is written to the ledger
    (C(held.json), with the time and the locks); the root is then held until O(dual_grace) after the last evidence,
    so a client seen by any run holds it even when its lock is gone by the next run."
  - The environment variable C(TFSTATE_NOW) (ISO 8601 UTC, for example V(2026-12-08T00:00:00Z)) replaces the
    current time, for tests and simulations only.
  - The task fails (nothing written) when the backend cannot be read, with the file and line, or when a ledger
    entry of the root cannot be read.
options:
  root:
    description: The root's directory.
    type: path
    required: true
  root_name:
    description: How the report names the root, for example its repository URL (credentials are removed).
    type: str
  init_args:
    description: The root's C(terraform init) arguments; their C(-backend-config) files complete the backend.
    type: list
    elements: str
    default: []
  dual_grace:
    description:
      - How long a root stays in V(dual) before it may move to V(lockfile), and after the last evidence of an old
        client; a number and C(s), C(m), C(h), C(d) or C(w) (V(7d), V(36h)), or a number of days.
    type: str
    default: 7d
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_identity
attributes:
  check_mode:
    support: full
    description: Decides the same, and writes no evidence to the ledger.
  diff_mode:
    support: none
    description: Nothing is changed but the ledger's evidence object.
  platform:
    platforms: aws
    support: full
    description: Runs on the controller; talks to the S3 and DynamoDB APIs, in the backend's region first.
notes:
  - Needs C(s3:ListBucket) and C(s3:GetObject) on the state bucket (ledger, lock objects), C(s3:PutObject) on
    C(tfstate-s3-backend-ledger/*) to record evidence, and C(dynamodb:BatchGetItem) on the lock table.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_record
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Decide this run's stage
  tfstate.s3_backend.root_stage:
    root: /srv/repos/network
    dual_grace: 7d
    region: eu-west-1
  register: staged

- name: Move the root one stage
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    target: "{{ staged.target }}"
    region: eu-west-1
  when: staged.target is not none
"""

RETURN = r"""
target:
  description: The lock mode to migrate to this run (V(dual) or V(lockfile)), or null when the root stays.
  returned: success
  type: str
  sample: lockfile
stage:
  description: The decision and what it was made from.
  returned: success
  type: dict
  contains:
    status:
      description:
        - V(move), V(waiting) (dual, grace not over), V(held) (dual, an old client seen), V(pinned) (rolled back,
          see RV(stage.pin)) or V(done).
      type: str
      sample: held
    pin:
      description: The rollback that pins the root on DynamoDB (time, run ID, AWX job, host, reason).
      returned: when RV(stage.status) is V(pinned)
      type: dict
      sample: {"since": "2026-12-08T03:10:00Z", "run_id": "ctl01-4121-99812", "job_id": "311", "host": app,
               "reason": "INC-4711: lock errors in the payments pipeline"}
    why:
      description: One sentence; for V(held) it names every lock that showed an old client.
      type: str
      sample: >-
        stays in dual: DynamoDB lock terraform-locks item acme-tfstate/app/terraform.tfstate held by ci@old
        (Terraform 1.11.4, operation OperationTypeApply, ID 1c0..., since 2026-12-01T10:00:00Z) without a matching
        .tflock object: a client that locks only through DynamoDB
    evidence:
      description: The evidence sentences (empty unless held).
      type: list
      elements: str
      sample: []
    lock_mode:
      description: The lock mode of the root's files.
      type: str
      sample: dual
    bucket:
      description: The state bucket.
      type: str
      sample: acme-tfstate
    key:
      description: The state key.
      type: str
      sample: app/terraform.tfstate
    dynamodb_table:
      description: The DynamoDB table the root's backend names.
      type: str
      sample: terraform-locks
    time:
      description: The time the decision was made by (C(TFSTATE_NOW) when set).
      type: str
      sample: "2026-12-08T00:00:00Z"
result:
  description:
    - The root's report row when it stays where it is (C(reports.root_row), with the keys of
      M(tfstate.s3_backend.root_result)'s result, whatever the status),
      with C(status) V(waiting), V(held), V(pinned) or V(done), C(reason), C(next_step), C(held_back) (the
      evidence) and C(pinned) (RV(stage.pin), or null).
  returned: when RV(target) is null
  type: dict
  sample: {"host": app, "status": held, "held_back": ["DynamoDB lock ... without a matching .tflock object ..."]}
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: The decision in one line; on failure the reason.
  returned: always
  type: str
  sample: "app: waiting (in dual since 2026-12-01T00:00:00Z; 3.0 day(s) of the dual grace left)"
"""
