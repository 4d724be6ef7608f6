# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_cutover
short_description: Cut one Terraform root over to its new locking, phase by phase, under the maintenance lock
version_added: 0.1.0
description:
  - The phases of one root's migration (or rollback) that change it, in the order they must run, as one task. It
    runs on the Ansible controller (an action plugin; nothing is sent to the target host) and is normally used by
    the C(tfstate.s3_backend.migrate) role (and, through it, C(tfstate.s3_backend.rollback)) after
    M(tfstate.s3_backend.root_preflight) and before M(tfstate.s3_backend.root_result).
  - Under the maintenance lock - M(tfstate.s3_backend.root_freeze) - it runs, each only when it applies,
    M(tfstate.s3_backend.root_digests) (a rollback, RV(tfstate.s3_backend.root_preflight#module:migration.target)
    V(dynamodb)), Object Lock on the state bucket (O(enable_object_lock); as
    M(tfstate.s3_backend.bucket_object_lock) does, with versioning), M(tfstate.s3_backend.root_rewrite)
    (RV(tfstate.s3_backend.root_preflight#module:migration.action) V(rewrite)), M(tfstate.s3_backend.root_reinit)
    and, with O(verify), M(tfstate.s3_backend.root_verify) C(expect=refused). The maintenance lock is then released
    (M(tfstate.s3_backend.root_freeze) C(state=absent)) whatever happened before, also after a freeze that failed
    midway.
  - Once it is released, and only when everything before succeeded, M(tfstate.s3_backend.root_verify)
    C(expect=planned) (with O(verify)), the commit (and push) of every backend file that differs from the
    checked-out commit (O(publish); as M(tfstate.s3_backend.root_publish) does), then
    M(tfstate.s3_backend.root_record).
  - Each phase is the same code as its own module (the same options, results and failures); RV(phases) holds each
    result by name. The first phase that fails ends the cut-over (after the release); the task then fails with
    that phase's message, and RV(phases) and RV(failed_phase) say what ran. M(tfstate.s3_backend.root_result)
    measures the root's outcome from RV(phases) and the files read back.
options:
  migration:
    description:
      - The RV(tfstate.s3_backend.root_preflight#module:migration) result of M(tfstate.s3_backend.root_preflight)
        for this root, unchanged.
    type: dict
    required: true
  init_args:
    description:
      - The root's C(terraform init) arguments (M(tfstate.s3_backend.root_reinit), M(tfstate.s3_backend.root_record)).
    type: list
    elements: str
    default: []
  terraform_timeout:
    description:
      - The longest one terraform command may run, in seconds.
    type: int
    default: 900
  verify:
    description:
      - Prove the new locking with terraform - a plan refused while the maintenance lock is held, then a plan that
        succeeds once it is released.
    type: bool
    default: true
  enable_object_lock:
    description:
      - Enable Object Lock on the state bucket, with versioning. NOT needed by C(use_lockfile), and irreversible.
    type: bool
    default: false
  backup_dir:
    description:
      - Where M(tfstate.s3_backend.root_rewrite) keeps each rewritten file's previous content.
    type: path
  backup_clean_git:
    description:
      - Back up the files of a clean git checkout too (M(tfstate.s3_backend.root_rewrite)).
    type: bool
    default: false
  backup_keep:
    description:
      - How many backups of each file to keep (M(tfstate.s3_backend.root_rewrite)); V(0) keeps every backup.
    type: int
    default: 10
  remove_digests:
    description:
      - After a lockfile cut-over, delete the state's DynamoDB digest items (M(tfstate.s3_backend.root_record)).
    type: bool
    default: true
  root_name:
    description:
      - How the record and the ledger name the root, for example its repository URL; credentials in it are removed.
    type: str
  reason:
    description:
      - Why the root changes, recorded in the ledger entry (the rollback role's C(rollback_reason)).
    type: str
  publish:
    description:
      - Commit (and push) the backend files after the proof, on a branch of their own, never force-pushed.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Commit the files. V(false) publishes nothing (C(phases.publish.published.reason) says so).
        type: bool
        default: false
      push:
        description: Push the branch too.
        type: bool
        default: false
      version:
        description: The version the clone was checked out at (a remote root), which the branch starts from.
        type: str
      own_clone:
        description: This host's clone (a remote root), where a push refused by another root's is replayed.
        type: path
      repo_url:
        description: The repository the clone was made from; its credentials reach git through its environment only.
        type: str
      branch:
        description: The branch to commit on; empty is V(tfstate/s3-native-locking).
        type: str
        default: tfstate/s3-native-locking
      commit_message:
        description: The commit message; empty is the default.
        type: str
        default: Use S3 native state locking (use_lockfile)
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description:
      - Every phase runs in check mode (each as its own module describes); nothing is written, no lock taken,
        terraform is not run and nothing is committed. C(changed) is V(false).
  diff_mode:
    support: none
    description: The rewrite's diff is in C(phases.rewrite.diff); M(tfstate.s3_backend.root_result) shows it.
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Talks to the S3 and
        DynamoDB APIs of AWS or of a compatible endpoint as the root's identity, in the root's region first.
notes:
  - Needs the rights of each phase it runs (see their modules); C(tfstate.s3_backend.operator_policy) proves them.
seealso:
  - module: tfstate.s3_backend.root_preflight
  - module: tfstate.s3_backend.root_result
  - module: tfstate.s3_backend.root_freeze
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    target: lockfile
  register: preflight

- name: Cut the root over, and keep every phase's result even when one fails
  tfstate.s3_backend.root_cutover:
    migration: "{{ preflight.migration }}"
    backup_dir: /var/lib/tfstate-reports/backups
  register: cutover
  failed_when: cutover.phases is not defined
  when: preflight.migration.action not in ['none', 'unsupported', 'ahead']

- name: Say which phase failed
  ansible.builtin.debug:
    msg: "{{ cutover.failed_phase }}: {{ cutover.msg }}"
  when: cutover.failed_phase | default(none) is not none
"""

RETURN = r"""
phases:
  description:
    - The result of each phase that ran, by name - C(freeze), C(digests), C(object_lock), C(rewrite), C(reinit),
      C(locked) (the refused plan), C(thaw) (the release), C(planned) (the plan after it), C(publish), C(record) -
      as the phase's own module returns it (a failed one with C(failed) and C(msg)).
  returned: always, when the options are valid
  type: dict
  sample: {"freeze": {"changed": true, "frozen": ["acme-tfstate/network/terraform.tfstate"], "released": []}}
failed_phase:
  description: The phase that failed first (C(verify) for C(locked) and C(planned)), or null.
  returned: always, when the options are valid
  type: str
  sample: reinit
msg:
  description: On failure, the failed phase's message.
  returned: failure
  type: str
  sample: "terraform init -reconfigure failed in /srv/repos/network (rc=1): Error refreshing state: ..."
"""
