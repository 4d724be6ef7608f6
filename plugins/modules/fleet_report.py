# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: fleet_report
short_description: Write the run report, the check-mode preview and the fleet view of a migration run
version_added: 0.1.0
description:
  - Turns the per-root results of a run into report files. It runs on the Ansible controller (an action plugin;
    nothing is sent to the target host), once per batch (C(run_once)), and is normally used by the
    C(tfstate.s3_backend.migrate) role with the C(migrate_result) of every host, as returned by
    M(tfstate.s3_backend.root_result), and, with O(fleet=false), by the C(report) entry point of the
    C(tfstate.s3_backend.tfstate) role for the rollback and retire roles.
  - Each result becomes a row named by its C(host), else by its C(root) (Ansible's own task fields such as
    C(changed), C(failed), C(msg) and C(diff) are left out); results with neither, such as skipped tasks, are
    ignored.
  - A run writes C(<name>-<run start>.json) and C(.md) in O(report_dir), the run start in UTC as
    C(20261129T200536Z). Rows an earlier C(serial) batch of the same run wrote there are kept, this batch's rows
    win. The same document is copied to C(<name>-report.json) and C(.md), the last real run.
  - Then, with O(fleet=true), the fleet view C(migrate-fleet.json) and C(.md) (one file for the fleet, whichever
    role writes it) is built from the ledger (C(tfstate-s3-backend-ledger/), see C(docs/fleet-roles.md)) of every
    bucket the rows name (one listing per bucket, in the row's region) plus this run's rows, so C(--limit) runs,
    AWX job slices, other controllers and inventories, rollbacks and retires add up to one picture, the same as
    C(fleet.yml) shows for those roots. One row per root of those ledgers - its C(status) is where it stands
    (the ledger's stage V(dynamodb), V(dual) or V(lockfile), V(pinned) for a rolled-back root, V(held) for a root
    held back in dual) with C(stage), C(since), C(run_id), C(job_id), C(pinned) and C(held_back), and
    C(last_run), what this run saw of it (its status, reason, next step). A root of this run that no ledger knows
    stands where this run measured its files (else V(unknown)). A run that could not read a root never changes
    where it stands; a bucket whose ledger cannot be read keeps the rows the previous fleet view had for it, with
    a problem and a warning, not a failure. Roots of buckets this run does not use are not in it. The run
    report carries the same view as its C(fleet) section (counts, problems, one line per root).
  - In check mode the files are C(<name>-preview-<run start>.json) and C(.md) and C(<name>-preview.json) and
    C(.md), titled as a preview; the run report and the fleet view are left alone.
  - Each JSON document holds C(schema_version), C(report), C(kind) (C(run), C(preview) or C(fleet)),
    C(check_mode), C(title), C(generated), C(run) (run ID, AWX job, controller, start), C(counts) per status,
    lock mode, stage, bucket, DynamoDB table and account, C(blockers) (the roots that stopped or failed, with the
    reason and the next step) and C(results) (the rows). The Markdown file shows the same for people, and in a
    preview each root's C(files_diff) (the backend diff it would write). No state content is ever written.
  - Writers of one O(report_dir) take turns (a lock file C(.<name>-report.lock) there), and each file is written
    through a temporary file and renamed, so readers never see half a report.
  - >-
    The run is also handed to C(ansible-playbook)'s stats, bounded so that a job of thousands of roots stays
    small in AWX: C(tfstate_<name>_counts), C(tfstate_<name>_blockers), C(tfstate_<name>_results) (only the rows
    of the roots that need attention - stopped, failed, refused, held, pinned, unsupported and their check-mode
    forms - without diffs), C(tfstate_<name>_held_back) (the roots C(migrate_target=auto) kept in dual, with the
    locks that showed an old client), each at most 100 entries, C(tfstate_<name>_results_omitted) (how many
    attention rows the cap left out) and C(tfstate_<name>_report_files) (the files that hold every row); with a
    C(_preview) suffix in check mode, as M(ansible.builtin.set_stats) would, so AWX shows them as the job's
    artifacts.
  - >-
    RV(summary) is what the roles print last; the first batch of a run also warns about extra variables
    (C(-e)) with a role prefix (C(migrate_), C(rollback_), C(retire_), C(tfstate_), C(bootstrap_)) that no role
    of the collection reads, naming the closest known one.
  - >-
    The task fails when O(report_dir) cannot be created, with C(cannot create the report directory <dir>: <error>).
options:
  results:
    description:
      - The per-root results, usually the registered result of M(tfstate.s3_backend.root_result) of every host of
        the play.
    type: list
    elements: dict
    required: true
  name:
    description:
      - The report's name, the first part of every file name and of the stats' names.
    type: str
    default: migrate
  report_dir:
    description:
      - The directory of the report files on the controller; created when missing.
    type: path
    required: true
  fleet:
    description:
      - Write the fleet view, reading the ledger of the buckets the rows name. Never in check mode.
      - A bucket is read as the first of its results' C(connection) says (the principal that root's calls ran as,
        see M(tfstate.s3_backend.root_result)), else with the AWS options.
    type: bool
    default: true
extends_documentation_fragment:
  - tfstate.s3_backend.aws
attributes:
  action:
    support: full
    description: An action plugin; the whole report is written on the controller.
  action_group:
    support: N/A
    membership: [tfstate.s3_backend.aws]
    description: Use C(group/tfstate.s3_backend.aws) in C(module_defaults) to set the AWS options once.
  check_mode:
    support: full
    description:
      - Writes the preview files only (they change nothing the run is about) and reads no bucket; RV(kind) is
        V(preview).
  diff_mode:
    support: none
    description: The report files are not shown as a diff.
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Reads the migration
        records through the S3 API of AWS or of a compatible endpoint, in each row's region first, else O(region).
notes:
  - Needs C(s3:ListBucket) on the state buckets and C(s3:GetObject) on the C(*.tfstate-s3-backend.json) records for
    the fleet view.
  - Always returns C(changed=false); the report is a by-product of the run, not a change of the roots.
seealso:
  - module: tfstate.s3_backend.root_result
  - module: tfstate.s3_backend.migration_record
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Measure the root's outcome
  tfstate.s3_backend.root_result:
    migration: "{{ preflight.migration | default({}) }}"
    root: "{{ tfstate_root }}"
    target: dual
  register: migrate_result

- name: Write the run report and update the fleet view (once per batch)
  tfstate.s3_backend.fleet_report:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('migrate_result', 'defined')
                 | map(attribute='migrate_result') | list }}"
    report_dir: "{{ lookup('ansible.builtin.env', 'PWD') }}/tfstate-reports"
    region: eu-west-1
  run_once: true
  register: report

- name: Show the counts per status
  ansible.builtin.debug:
    var: report.counts.status
  run_once: true

- name: A report of its own, without the fleet view
  tfstate.s3_backend.fleet_report:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('migrate_result', 'defined')
                 | map(attribute='migrate_result') | list }}"
    name: network-wave-1
    report_dir: /var/lib/tfstate-reports
    fleet: false
  run_once: true
"""

RETURN = r"""
kind:
  description: V(run), or V(preview) in check mode.
  returned: success
  type: str
  sample: run
files:
  description: The files written.
  returned: success
  type: list
  elements: str
  sample:
    - /srv/tfstate-reports/migrate-20261129T200536Z.json
    - /srv/tfstate-reports/migrate-20261129T200536Z.md
    - /srv/tfstate-reports/migrate-report.json
    - /srv/tfstate-reports/migrate-report.md
    - /srv/tfstate-reports/migrate-fleet.json
    - /srv/tfstate-reports/migrate-fleet.md
counts:
  description:
    - The run's rows (earlier batches of the run included) counted per C(status), C(lock_mode) (after),
      C(stage) (target), C(bucket), C(dynamodb_table) and C(account); C(-) counts the rows without a value.
  returned: success
  type: dict
  sample: {"status": {"migrated": 2, "stopped": 1}, "lock_mode": {"dual": 2, "dynamodb": 1},
           "stage": {"dual": 3}, "bucket": {"acme-tfstate": 3}, "dynamodb_table": {"terraform-locks": 3},
           "account": {"123456789012": 3}}
blockers:
  description: The roots of the run that stopped, failed or were refused (in check mode, would stop or fail).
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host of the root.
      type: str
      sample: payments
    status:
      description: V(stopped), V(failed), V(refused), V(would_stop) or V(would_fail).
      type: str
      sample: stopped
    reason:
      description: Why.
      type: str
      sample: >-
        versioning is not enabled on state bucket acme-payments-tfstate; enable it or set
        migrate_enable_versioning=true
    next_step:
      description: What a person should do.
      type: str
      sample: enable versioning on the bucket or set migrate_enable_versioning=true, then rerun
fleet_counts:
  description: The same counts over the fleet view; null in check mode or with O(fleet=false).
  returned: success
  type: dict
  sample: {"status": {"dual": 7, "lockfile": 41, "pinned": 1}}
summary:
  description:
    - The run summary the roles print last, one line each; the counts per status (a preview says nothing was
      changed), each root that needs attention with its one-line reason and C(next:) step (at most 10, then how
      many more), the roots V(ahead) of the target and those that skipped dual, the warnings and the report files.
  returned: success
  type: list
  elements: str
  sample: ["migrate run: 4 roots: migrated 3, stopped 1", "stopped payments (preflight): versioning is not enabled on
           state bucket acme-payments-tfstate", "  next: enable versioning on the bucket or set
           migrate_enable_versioning=true, then rerun", "reports: tfstate-reports/migrate-report.md"]
ansible_stats:
  description:
    - The stats handed to Ansible (C(data) holds the bounded artifacts listed above, with a C(_preview) suffix in
      check mode), replaced rather than added up, so a later C(serial) batch reports the whole run so far.
  returned: success
  type: dict
  sample: {"data": {"tfstate_migrate_counts": {"status": {"migrated": 2}}}, "per_host": false, "aggregate": false}
warnings:
  description:
    - The buckets whose ledger could not be read for the fleet view, with the error; the extra variables no role
      reads.
  returned: when there is one
  type: list
  elements: str
  sample: ["fleet view: the ledger of bucket acme-tfstate could not be read: AccessDenied ..."]
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description: Why the report could not be written.
  returned: on failure
  type: str
  sample: >-
    cannot create the report directory /srv/tfstate-reports: [Errno 13] Permission denied:
    '/srv/tfstate-reports'
"""
