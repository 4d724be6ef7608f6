#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: lock_table_retirement
short_description: List every reason to keep a Terraform DynamoDB lock table before retiring it
version_added: 0.1.0
description:
  - Decides whether the lock table O(table) may be deleted, from what the inventory's Terraform roots say about it
    (O(roots), O(findings)), the cut-over times, the Terraform code that may declare it, and the table itself.
    Nothing is changed; delete the table with M(tfstate.s3_backend.lock_table) O(tfstate.s3_backend.lock_table#module:state=absent)
    when RV(retirable) is true (the retire role does).
  - "The table is kept (one entry in RV(blockers) per reason) while: O(roots) is empty; a root was not examined
    (it has no entry in O(findings)); a root could not be read (its finding has an C(error)); a root still names the
    table in its backend (in any lock mode, dual included); the last cut-over time is unknown, or less than
    O(grace_period_days) ago; an C(aws_dynamodb_table) resource names the table in the C(*.tf) files of the roots'
    directories or of O(code_paths) (or such a directory cannot be searched); and while the table's own check
    refuses: a lock item exists, a digest item matches a state version written after the last cut-over (a client
    still writes with C(dynamodb_table)), or deletion protection is on without O(lift_deletion_protection)."
  - The last cut-over is the latest of the C(cutover_time) of the migration records (M(tfstate.s3_backend.migration_record))
    that name the table, and O(cutover_time).
  - Hidden files and folders (C(.terraform) holds modules terraform downloaded) are not searched.
  - "Roots outside the play (another job slice, another controller) count too, from the fleet's ledger
    (C(tfstate-s3-backend-ledger/) in the state buckets, see C(docs/fleet-roles.md)) and the table itself: the table
    is kept while a root of the ledger is in stage V(dual) or V(dynamodb) with the table, while a backend file of a
    ledger root that this controller can read names the table, and while a digest item of the table belongs to a
    state that neither O(findings) nor the ledger knows. The ledgers read are those of O(ledger_buckets), of the
    buckets of O(findings), and of every bucket the table's items name."
  - The last cut-over also counts the time each ledger root of the table went V(lockfile). The environment
    variable C(TFSTATE_NOW) (ISO 8601 UTC) replaces the current time, for tests and simulations only.
author:
  - tfstate.s3_backend maintainers (@tfstate)
extends_documentation_fragment:
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.attributes.info_module
options:
  table:
    description: The DynamoDB lock table.
    type: str
    required: true
    aliases: [name]
  roots:
    description:
      - The inventory hosts that are Terraform roots; each must have an entry in O(findings).
    type: list
    elements: str
    default: []
  findings:
    description:
      - What each examined root says about the table, as the retire role's C(examine) entry point notes it
        (C(retire_root_findings)).
      - "Keys: C(host) (the inventory host), C(root) (its name in messages), C(path) (its directory, searched for
        declarations), C(file) and C(line) (its backend block), C(table_at) (C(<file>:<line>) where its backend names
        the table - the block or a C(-backend-config) file; defaults to C(file) and C(line)), C(lock_mode), C(dynamodb_table) (its backend's
        table), C(bucket) and C(key) (where its state is: the ledger and the table's digest items of that state are then
        judged by this finding), C(record) (its migration record or null), C(backend) (its resolved backend, as
        M(tfstate.s3_backend.terraform_root_info) returns it), C(error) (why it could not be read; then
        the others may be missing)."
      - "The module acts as the principal of the roots whose backend or migration record names the table: their
        C(backend)'s C(profile), C(assume_role), C(region) and C(endpoints) laid over the AWS options, as the migrate
        role does (see M(tfstate.s3_backend.lock_table_info)'s C(backend) option). When they name different
        principals the task fails naming two of them; when none carries a C(backend) the AWS options are used."
    type: list
    elements: dict
    default: []
  code_paths:
    description: More directories whose C(*.tf) files are searched for a declaration of the table.
    type: list
    elements: path
    default: []
  cutover_time:
    description:
      - A cut-over time (RFC 3339) for roots migrated without a migration record, or a later one.
    type: str
  grace_period_days:
    description: Days after the last cut-over before the table may go.
    type: float
    default: 7
  lift_deletion_protection:
    description: Whether the deletion would turn deletion protection off first; without it a protected table is kept.
    type: bool
    default: false
  ledger:
    description:
      - Whether roots outside O(findings) are judged from the ledger and the table's digest items.
    type: bool
    default: true
    version_added: 0.1.0
  ledger_buckets:
    description:
      - More state buckets whose ledger is read (the buckets of O(findings) and of the table's items always are).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
attributes:
  platform:
    platforms: aws
    support: full
    description: Reads the table through the DynamoDB API, state versions through the S3 API and code on the target host.
seealso:
  - module: tfstate.s3_backend.lock_table
  - module: tfstate.s3_backend.migration_record
"""

EXAMPLES = r"""
- name: List the reasons to keep the table
  tfstate.s3_backend.lock_table_retirement:
    table: terraform-locks
    roots: [network, app]
    findings:
      - {host: network, root: /srv/repos/network, path: /srv/repos/network, file: /srv/repos/network/backend.tf,
         line: 2, lock_mode: lockfile, dynamodb_table: null,
         record: {mode: lockfile, dynamodb_table: terraform-locks, cutover_time: "2026-11-20T10:00:00Z"}}
      - {host: app, root: /srv/repos/app, error: "the backend block has no key"}
    code_paths: [/srv/repos/bootstrap]
    grace_period_days: 7
  register: retirement

- name: Delete the table once nothing keeps it
  tfstate.s3_backend.lock_table:
    name: terraform-locks
    state: absent
    cutover_time: "{{ retirement.cutover_time }}"
    backup: true
  when: retirement.retirable
"""

RETURN = r"""
blockers:
  description: Every reason to keep the table, as sentences naming the root, file and line, or lock; empty when it may go.
  returned: always
  type: list
  elements: str
  sample: ["root /srv/repos/app still locks with the table (/srv/repos/app/prod.tfbackend:2, lock mode dual)"]
next_steps:
  description: What to do about each entry of RV(blockers), in the same order.
  returned: always
  type: list
  elements: str
  sample: ["ansible-playbook tfstate.s3_backend.migrate --limit app -e migrate_target=lockfile (it removes the table
           from /srv/repos/app/prod.tfbackend:2); then run retire again"]
retirable:
  description: The table exists and nothing keeps it.
  returned: always
  type: bool
  sample: false
lock_table:
  description: The table's settings (C(exists), C(status), C(arn), C(billing_mode), C(deletion_protection), ...).
  returned: always
  type: dict
  sample: {"name": "terraform-locks", "exists": true, "status": "ACTIVE", "deletion_protection": false}
referenced_by:
  description: The roots whose backend still names the table.
  returned: always
  type: list
  elements: str
  sample: [/srv/repos/app]
declared_in:
  description: The Terraform code that declares the table.
  returned: always
  type: list
  elements: dict
  sample: [{"file": /srv/repos/bootstrap/main.tf, "line": 1}]
cutover_time:
  description: The last cut-over time, as written, or null when unknown.
  returned: always
  type: str
  sample: "2026-11-20T10:00:00Z"
ledger_roots:
  description: The roots of the table in the ledger, where each stands (bucket, key, host, root, stage, since).
  returned: always
  type: list
  elements: dict
  version_added: 0.1.0
  sample: [{"bucket": acme-tfstate, "key": app/terraform.tfstate, "host": app, "stage": dual,
            "since": "2026-11-20T10:00:00Z"}]
principal:
  description:
    - The identity the table was read as (no secrets), with C(host), the root whose backend gave it; null when the
      AWS options were used. The retire role deletes the table as the same C(host)'s backend.
  returned: always
  type: dict
  version_added: 0.1.0
  sample: {"host": app, "where": /srv/repos/app/backend.tf:2, "region": eu-west-1,
           "assume_role": {"role_arn": "arn:aws:iam::210987654321:role/tfstate-backend"}}
roots_examined:
  description: The number of O(roots).
  returned: always
  type: int
  sample: 2
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import auto
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet import ledger_store
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.lock_table import (
    TableRefused,
    describe_table,
    ensure_table_absent,
    table_summary,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import scan_table
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.root import RootError, resolve_root
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.retirement import (
    find_declarations,
    last_cutover,
    retirement_blockers,
    sort_findings,
    table_principal,
    table_refusals,
)


def table_refusal(module, table, cutover, lift_deletion_protection):
    """The table's own check in check mode (nothing is deleted): its refusals with their next steps, or []."""
    try:
        ensure_table_absent(module.client("s3"), module.client("dynamodb"), table, cutover=cutover,
                            lift_deletion_protection=lift_deletion_protection, check_mode=True)
    except TableRefused as exc:
        return table_refusals(str(exc), exc.blockers, table)
    except AwsError as exc:
        # A check that cannot be made is a reason to keep the table, not a failure of the decision.
        return table_refusals("table %s: the check for lock items and current digests failed: %s" % (table, exc),
                              [], table)
    return []


def readable_backend(path):
    """The backend of a root directory named by the ledger, or None when this controller cannot read it."""
    try:
        return resolve_root(path)
    except RootError:
        return None


def ledger_check(module, table, exists, findings):
    """``(reasons, ledger roots, last lockfile time)`` about roots outside the play, from the ledger and the table."""
    items = scan_table(module.client("dynamodb"), table) if exists else []
    play_states = set((finding.get("bucket"), finding.get("key")) for finding in findings
                      if not finding.get("error") and finding.get("bucket"))
    buckets = set(module.params["ledger_buckets"]) | set(bucket for bucket, key in play_states)
    buckets |= set(auto.buckets_of_items(items))
    view = ledger_store.read_fleet(module.client("s3"), buckets)
    backends = ledger_store.ledger_backends(view, table, play_states, readable_backend)
    reasons = auto.table_users(table, view, items, play_states, backends) + view["problems"]
    roots = [{name: row[name] for name in ("bucket", "key", "host", "root", "stage", "since")}
             for row in view["roots"] if row["table"] == table]
    return reasons, roots, auto.last_lockfile_time(view, table)


def act_as_table_principal(module, table, findings):
    """Connect as the principal of the roots that lock with the table; its description, or None (the AWS options)."""
    try:
        user = table_principal(table, findings)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if user is None:
        return None
    return dict(module.act_as_backend(user["backend"]), host=user.get("host"))


def main():
    module = AwsModule(
        argument_spec=dict(
            table=dict(type="str", required=True, aliases=["name"]),
            roots=dict(type="list", elements="str", default=[]),
            findings=dict(type="list", elements="dict", default=[]),
            code_paths=dict(type="list", elements="path", default=[]),
            cutover_time=dict(type="str"),
            grace_period_days=dict(type="float", default=7),
            lift_deletion_protection=dict(type="bool", default=False),
            ledger=dict(type="bool", default=True),
            ledger_buckets=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    table = params["table"]
    now = clock.now()
    sorted_roots = sort_findings(table, params["roots"], params["findings"])
    principal = act_as_table_principal(module, table, params["findings"])
    try:
        summary = table_summary(table, describe_table(module.client("dynamodb"), table))
        reasons, ledger_roots, lockfile_time = ledger_check(module, table, summary["exists"], params["findings"]) \
            if params["ledger"] else ([], [], None)
    except AwsError as exc:
        module.fail_aws(exc)
    records = sorted_roots["records"] + ([("ledger", {"cutover_time": lockfile_time})] if lockfile_time else [])
    try:
        cutover_time, cutover, problems = last_cutover(records, params["cutover_time"])
    except ValueError as exc:
        module.fail_json(msg="cutover_time: %s" % exc)
    declarations, search_problems = find_declarations(sorted_roots["paths"] + params["code_paths"], table)
    refusal = table_refusal(module, table, cutover, params["lift_deletion_protection"]) if summary["exists"] else []
    refusals = retirement_blockers(
        params["roots"], sorted_roots["unexamined"], sorted_roots["unreadable"], sorted_roots["referencing"],
        cutover_time, cutover, params["grace_period_days"], now,
        declarations, table_refusal=refusal, problems=reasons + search_problems + problems)
    blockers = [found["reason"] for found in refusals]
    module.exit_json(
        changed=False, blockers=blockers, next_steps=[found["next_step"] for found in refusals],
        retirable=summary["exists"] and not blockers, lock_table=summary,
        referenced_by=[finding["root"] for finding in sorted_roots["referencing"]], declared_in=declarations,
        cutover_time=cutover_time, roots_examined=len(params["roots"]), ledger_roots=ledger_roots, principal=principal)


if __name__ == "__main__":
    main()
