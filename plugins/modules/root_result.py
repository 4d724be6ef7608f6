# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_result
short_description: Measure and name the outcome of one Terraform root's migration
version_added: 0.1.0
description:
  - The phase that turns what happened to one root into its result, the row of the run report. It runs on the
    Ansible controller (an action plugin; nothing is sent to the target host) and is normally used by the
    C(tfstate.s3_backend.migrate) role after the other phases, whether they succeeded or stopped, registered as
    C(migrate_result) and handed to M(tfstate.s3_backend.fleet_report).
  - The outcome is measured, not taken from the request. The root's backend is read back from its files and its
    C(.terraform/terraform.tfstate) now (RV(files_lock_mode_after), RV(initialised_lock_mode_after)); the other
    phases' registered results give the files changed, the proof and the record.
  - RV(status) is one of V(migrated) (cut over and proven), V(resumed) (the cut-over of an interrupted earlier
    run, found by the maintenance lock it left or the intent it recorded, was taken over, proven and recorded),
    V(unchanged) (nothing to do), V(stopped) (a phase failed and nothing at all changed - the files, the last
    terraform init and the locks are as they were) or V(failed) (a phase failed and left a rewritten file, a
    re-initialised C(.terraform) or the maintenance lock - RV(left) - or the proof is missing with
    O(verify=true)). In check mode a run never says a root was migrated - V(would_migrate),
    V(would_resume), V(would_stop), V(would_fail), or V(unchanged).
  - >-
    V(ahead), in either mode, is a root already past O(target): its files lock with the S3 lockfile only while
    the target is V(dual) (a stage-1 rerun after stage 2). Nothing of it was changed and it never fails the root.
  - >-
    In check mode this is the one task of the role that reports C(changed): once per root that would change
    (V(would_migrate), V(would_resume)), with the rewrite's diff (shown by C(--diff)); RV(lock_mode_after) is
    then the lock mode the root would have.
  - >-
    V(unsupported), in either mode, is a root the role does not migrate
    (RV(tfstate.s3_backend.root_preflight#module:migration.action) V(unsupported): a Terragrunt root without a
    terragrunt binary); nothing of it was changed. RV(reason) says why (C(terragrunt: ...)), RV(files_diff) the
    rewrite it needs (from the check-mode M(tfstate.s3_backend.root_rewrite) the role runs for it, also in a real
    run), RV(reinit_command) the command to run then, and a warning prints both. It fails the root only with
    O(fail_on_unsupported).
  - >-
    RV(reason) is the message of the phase that failed first, then what it left (C(left: the backend files
    rewritten (...); the last terraform init on <mode>; the maintenance lock <ID> still held on <workspaces>))
    and a release of the maintenance lock that failed too; for a root that changed but whose proof is missing,
    it says how far the cut-over got, C(the cut-over did not complete: the files lock with <mode> and the last
    terraform init with <mode>); for a V(resumed) root, the run it took over, the lock it released and why.
  - The failed phase is the first phase in the cut-over's C(phases) whose result failed (in the order the phases
    run; the release of the maintenance lock, which runs after any failure, only when nothing failed before it -
    else it is reported beside it, RV(thaw_failure)); else the phase O(failure) names (V(checkout) for a clone
    that failed), else its task's action (M(tfstate.s3_backend.root_preflight) is V(preflight),
    M(tfstate.s3_backend.root_cutover) V(cutover), any other V(other)).
  - This phase never fails, so that every root gets its row; the role fails a stopped or failed root afterwards.
    It changes nothing (C(changed=false)).
options:
  preflight:
    description:
      - The registered result of M(tfstate.s3_backend.root_preflight), failed or not, or V({}) when it did not run.
        Its C(migration) is the root as read; its C(stage) (C(migrate_target=auto)), when it holds a C(result)
        (the root stays at its stage this run) and nothing failed, is the root's result, as the stage measured
        it; its C(rewrite) (an unsupported root's) gives RV(files_diff); its C(checkout) the root's directory.
    type: dict
    default: {}
  cutover:
    description:
      - The registered result of M(tfstate.s3_backend.root_cutover), or V({}) when it did not run. Its C(phases)
        say which phase failed first, whether the maintenance lock may still be held (the freeze ran and no
        release succeeded), the files changed (C(rewrite)), the proof (C(locked), C(planned)), the branch
        (C(publish)), the record and the digests.
    type: dict
    default: {}
  failure:
    description:
      - What the role's rescue caught (C(ansible_failed_result) with the task's C(action)), or V({}). Its C(msg)
        becomes RV(reason); its C(cause) (V(root_missing), V(credentials), V(bucket_missing), V(lock_held) or
        V(versioning), decided where the failure was found) chooses RV(next_step) and becomes RV(cause); its
        C(cause_detail) (for example the bucket of the last C(terraform init) or the lock's holder) is named
        there. Given at all, it marks the root as stopped or failed.
    type: dict
    default: {}
  root:
    description:
      - The root's directory, read back when neither the preflight's C(migration) nor its C(checkout) names it.
    type: str
  root_name:
    description:
      - How the report names the root, for example its repository URL, instead of its directory. Any
        C(user:password@) in it is removed.
    type: str
  target:
    description:
      - The lock mode the root should end in, V(dual) or V(lockfile) (the role's C(migrate_target), or the stage
        C(auto) chose), or V(dynamodb) (the rollback role). It chooses RV(next_step), and for V(dynamodb) the
        statuses V(rolled_back) and V(would_roll_back) instead of V(migrated) and V(would_migrate).
    type: str
    required: true
  init_args:
    description:
      - The root's C(terraform init) arguments, so the backend reads back as the other phases read it.
    type: list
    elements: str
    default: []
  dual_grace:
    description:
      - The role's C(migrate_dual_grace); in a C(migrate_target=auto) run, RV(next_step) says when the next
        scheduled run moves the root on.
    type: str
  verify:
    description:
      - Whether the cut-over had to be proven with terraform (the role's C(migrate_verify)). When V(false), the
        proof is not required.
    type: bool
    default: true
  fail_on_stopped:
    description:
      - Whether a root that stopped before anything changed must fail (RV(fails_root)); a root that failed after a
        change began always must (the role's C(migrate_fail_on_stopped)).
    type: bool
    default: true
  fail_on_unsupported:
    description:
      - Whether a V(unsupported) root must fail (RV(fails_root)); the role's C(migrate_fail_on_unsupported).
        By default it is reported with its next step (and a warning) without failing the run.
    type: bool
    default: false
attributes:
  action:
    support: full
    description: An action plugin; the whole phase runs on the controller.
  check_mode:
    support: full
    description: Runs the same and names the outcome as a forecast (V(would_migrate), V(would_stop)...).
  diff_mode:
    support: none
    description: Nothing changes. In check mode the rewrite's diff is carried in RV(files_diff).
  platform:
    platforms: all
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Reads the root's files
        on the controller.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_verify
  - module: tfstate.s3_backend.fleet_report
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Migrate the root, keeping what stopped it
  block:
    - name: Read the root and decide what it needs
      tfstate.s3_backend.root_preflight:
        root: /srv/repos/network
      register: preflight

    - name: Cut the root over
      tfstate.s3_backend.root_cutover:
        migration: "{{ preflight.migration }}"
      register: cutover
      failed_when: cutover.phases is not defined  # a failed phase is measured below
      when: preflight.migration.action not in ['none', 'unsupported', 'ahead']

  rescue:
    - name: Keep the failed task's result
      ansible.builtin.set_fact:
        failure: "{{ ansible_failed_result | combine({'action': ansible_failed_task.action}) }}"

- name: Measure the root's outcome
  tfstate.s3_backend.root_result:
    preflight: "{{ preflight | default({}) }}"
    cutover: "{{ cutover | default({}) }}"
    failure: "{{ failure | default({}) }}"
    root: /srv/repos/network
    target: dual
  register: result

- name: Write the run report
  tfstate.s3_backend.fleet_report:
    results: "{{ ansible_play_hosts_all | map('extract', hostvars) | selectattr('result', 'defined')
                 | map(attribute='result') | list }}"
    report_dir: /var/lib/tfstate-reports
  run_once: true
"""

RETURN = r"""
host:
  description: The inventory host of the root.
  returned: always
  type: str
  sample: network
root:
  description: O(root_name), else the root's directory, without credentials.
  returned: always
  type: str
  sample: /srv/repos/network
backend_file:
  description: C(<file>:<line>) of the backend block, read now; empty when the root cannot be read.
  returned: always
  type: str
  sample: /srv/repos/network/backend.tf:2
status:
  description:
    - The outcome, V(migrated), V(resumed), V(unchanged), V(stopped) or V(failed); in check mode V(would_migrate),
      V(would_resume), V(would_stop), V(would_fail) or V(unchanged); in both, V(unsupported) and V(ahead) (past
      the target, left as it is).
  returned: always
  type: str
  sample: migrated
phase:
  description:
    - The phase that failed first, V(checkout), V(preflight), V(freeze), V(digests), V(object_lock), V(rewrite),
      V(reinit), V(verify), V(thaw), V(publish), V(record) or V(other); null when none did.
  returned: always
  type: str
  sample: null
reason:
  description:
    - Why the root stopped or failed (the failed task's message, else how far the cut-over got), or why it was
      resumed; else empty.
  returned: always
  type: str
  sample: ""
fails_root:
  description: Whether the role fails this root's host at its end (V(failed), V(would_fail), with
    O(fail_on_stopped) V(stopped) and V(would_stop), and with O(fail_on_unsupported) V(unsupported)).
  returned: always
  type: bool
  sample: false
next_step:
  description:
    - What a person should do about the root, in one sentence; empty when nothing. For a stop it follows
      RV(cause) (which variable gives credentials, the bucket the last C(terraform init) used, the lock's holder
      and C(unlock.yml) only for a stale lock), else the reason's words.
  returned: always
  type: str
  sample: run again with migrate_target=lockfile once every pipeline of this root uses the dual configuration
cause:
  description:
    - Why the root stopped, as decided where the failure was found (the C(cause) of O(failure)); null when not known.
  returned: always
  type: str
  sample: lock_held
skipped_dual:
  description:
    - Whether the root went (or, in check mode, would go) from DynamoDB locking straight to lockfile, without
      the dual stage; allowed, and said in the run summary.
  returned: always
  type: bool
  sample: false
unsupported:
  description: Why the role does not migrate a V(unsupported) root, V(terragrunt); else null.
  returned: always
  type: str
  sample: null
reinit_command:
  description: For a V(unsupported) root, the command that re-initialises it by hand once its files are rewritten;
    else null.
  returned: always
  type: str
  sample: cd /srv/repos/network && terragrunt init -reconfigure
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
action:
  description: What the preflight said the root needs (RV(tfstate.s3_backend.root_preflight#module:migration.action)).
  returned: always
  type: str
  sample: rewrite
target:
  description: O(target).
  returned: always
  type: str
  sample: dual
lock_mode_before:
  description: The files' lock mode before the change.
  returned: always
  type: str
  sample: dynamodb
lock_mode_after:
  description:
    - The lock mode read back now, from the files and the last C(terraform init). When they differ, the text names
      both, the files' mode first. Null when the root cannot be read.
    - In check mode, for a root that would migrate or resume, the lock mode it would have (O(target), the mode
      its check-mode rewrite was computed and read back for).
  returned: always
  type: str
  sample: dual
files_lock_mode_after:
  description: The lock mode of the files, read back now.
  returned: always
  type: str
  sample: dual
initialised_lock_mode_after:
  description: The lock mode of the last C(terraform init), read back now.
  returned: always
  type: str
  sample: dual
interrupted:
  description: What showed that an earlier run stopped midway.
  returned: always
  type: list
  elements: str
  sample: []
resumed_from:
  description:
    - The interrupted run whose cut-over this run took over (RV(status) V(resumed)), or null - C(run_id), the
      C(lock_ids) of its maintenance lock this run released, C(why) that lock was proven stale (its process on
      this controller has ended, or its lease is over) and C(intent), the cut-over it recorded in the migration
      record (or null). RV(reason) says the same in a sentence.
  returned: always
  type: dict
  sample:
    run_id: ctl-4242-1234
    lock_ids: [0b7c1f5e-1d2a-5c3e-9f4b-2a6d8e0c1b7a]
    why: the maintenance lock of run ctl-4242-1234, whose process on ctl has ended
    intent: a cut-over to lockfile by run ctl-4242-1234, started 2026-12-07T10:00:00Z
left:
  description:
    - What a failed cut-over left, measured (null when nothing) - C(files_rewritten) (the backend files now on
      another lock mode), C(last_init) (the lock mode of a last terraform init that changed, else null) and
      C(lock_held) (this run's maintenance lock ID when no release of it succeeded, else null). RV(next_step)
      then says to rerun, which resumes from the intent the run recorded.
  returned: always
  type: dict
  sample:
    files_rewritten: [/srv/repos/network/backend.tf]
    last_init: null
    lock_held: null
thaw_failure:
  description: The error of the release of the maintenance lock when it failed after another phase had failed
    (RV(phase) names that one), else null.
  returned: always
  type: str
  sample: null
bucket:
  description: The state bucket.
  returned: always
  type: str
  sample: acme-tfstate
key:
  description: The state key.
  returned: always
  type: str
  sample: network/terraform.tfstate
region:
  description: The root's region.
  returned: always
  type: str
  sample: eu-west-1
account:
  description: The AWS account of the credentials.
  returned: always
  type: str
  sample: "123456789012"
principal:
  description:
    - The caller ARN STS answered for the root's calls (the backend's role or profile unless
      C(backend_identity) was off), null when the preflight did not get that far or STS did not say.
  returned: always
  type: str
  sample: "arn:aws:sts::123456789012:assumed-role/terraform-state/tfstate-s3-backend-ctl01-4242-1"
  version_added: 0.1.0
identity:
  description:
    - V(backend) when the root's calls took the backend's own identity settings, V(options) when the task's AWS
      options alone were used, null when the preflight did not get that far.
  returned: always
  type: str
  sample: backend
  version_added: 0.1.0
connection:
  description:
    - The preflight's RV(tfstate.s3_backend.root_preflight#module:migration.identity) (no key, secret or token),
      which M(tfstate.s3_backend.fleet_report) uses to read the root's bucket as the root's calls did. Not part
      of the report row.
  returned: always
  type: dict
  sample: {use_backend: true, principal: "arn:aws:sts::123456789012:assumed-role/terraform-state/tfstate-s3-backend-ctl01-4242-1"}
  version_added: 0.1.0
dynamodb_table:
  description: The DynamoDB table the root's clients locked with.
  returned: always
  type: str
  sample: terraform-locks
workspaces:
  description: The workspaces whose states exist.
  returned: always
  type: list
  elements: str
  sample: [default]
files_changed:
  description: The files the rewrite changed (in check mode, would change).
  returned: always
  type: list
  elements: str
  sample: [/srv/repos/network/backend.tf]
files_diff:
  description:
    - In check mode, the rewrite's diff (RV(tfstate.s3_backend.root_rewrite#module:diff)) as one unified diff text,
      which the preview report carries (the Markdown file shows it per root); for a V(unsupported) root, in any
      mode, the diff its files need; else null (also when no file would change).
  returned: always
  type: str
  sample: |
    --- /srv/repos/network/backend.tf (before)
    +++ /srv/repos/network/backend.tf (after)
    @@ -4,5 +4,6 @@
         key            = "network/terraform.tfstate"
         region         = "eu-west-1"
         dynamodb_table = "terraform-locks"
    +    use_lockfile   = true
       }
     }
branch:
  description: The branch the change was committed on; empty when it was not.
  returned: always
  type: str
  sample: tfstate/use-lockfile
digests_removed:
  description: How many DynamoDB digest items the record phase deleted.
  returned: always
  type: int
  sample: 0
digests_synced:
  description: The states (C(<bucket>/<key>)) whose DynamoDB digest a rollback set (or removed) before the backend named the table again.
  returned: always
  type: list
  elements: str
  sample: [acme-tfstate/network/terraform.tfstate]
table_created:
  description: Whether a rollback created its DynamoDB lock table.
  returned: always
  type: bool
  sample: false
cutover_time:
  description: The cut-over time of the migration record; empty when none was written.
  returned: always
  type: str
  sample: "2026-11-29T20:05:52Z"
lifted_pin:
  description:
    - The rollback's pin this run lifted (an explicit C(migrate_target=dual) or V(lockfile) run of a root a rollback
      left pinned on DynamoDB; RV(tfstate.s3_backend.root_record#module:lifted_pin)), null otherwise.
  returned: always
  type: dict
  sample: {"since": "2026-12-08T03:10:00Z", "run_id": "ctl01-4121-99812", "job_id": "311", "host": app,
           "reason": "INC-4711: lock errors in the payments pipeline"}
verification:
  description: The proof with terraform.
  returned: always
  type: dict
  contains:
    locked_plan_refused:
      description: A plan was refused by the C(.tflock) object while the maintenance lock was held; null when not run.
      type: bool
      sample: true
    plan_ok:
      description: A plan succeeded once the maintenance lock was released; null when not run.
      type: bool
      sample: true
    matches_baseline:
      description: The plan's exit code equals the baseline plan's; null without a baseline.
      type: bool
      sample: null
held_back:
  description:
    - With C(migrate_target=auto), the evidence (locks) that keeps a V(held) root in dual
      (RV(tfstate.s3_backend.root_stage#module:result)); V([]) otherwise.
  returned: always
  type: list
  elements: str
  sample: []
pinned:
  description:
    - With C(migrate_target=auto), the rollback's pin that leaves a V(pinned) root on DynamoDB; null otherwise.
  returned: always
  type: dict
  sample: null
phase_name:
  description: V(result), the phase this result comes from (every phase's result names its phase); not a row field.
  returned: always
  type: str
  sample: result
run_id:
  description: The ID of the run.
  returned: always
  type: str
  sample: ctl01-48213-771204
started:
  description: When the run started (UTC, RFC 3339).
  returned: always
  type: str
  sample: "2026-11-29T20:05:36Z"
time:
  description: When the outcome was measured (UTC, RFC 3339).
  returned: always
  type: str
  sample: "2026-11-29T20:06:04Z"
msg:
  description: "C(<host>: <status>), followed by C(: <reason>) when there is one."
  returned: always
  type: str
  sample: "network: migrated"
"""
