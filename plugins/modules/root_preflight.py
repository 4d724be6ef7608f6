# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: root_preflight
short_description: Read a Terraform root, its state bucket and its locks, and decide what its migration needs
version_added: 0.1.0
description:
  - The first phase of one root's migration from DynamoDB locking to S3 native locking (C(use_lockfile)). It runs on
    the Ansible controller (an action plugin; nothing is sent to the target host) and is normally used by the
    C(tfstate.s3_backend.migrate) role, one task per root, before
    M(tfstate.s3_backend.root_freeze), M(tfstate.s3_backend.root_rewrite), M(tfstate.s3_backend.root_reinit),
    M(tfstate.s3_backend.root_verify), M(tfstate.s3_backend.root_record) and M(tfstate.s3_backend.root_result).
  - Reads the root's S3 backend from its files (C(.tf) and C(.tf.json), plus the C(-backend-config) files and
    C(key=value) pairs of O(init_args)) and from C(.terraform/terraform.tfstate) (the last C(terraform init)), runs
    C(<terraform_bin> version) (once per worker process), and reads the state bucket (existence, versioning and
    region),
    the caller's account (STS), the migration record next to the state
    (C(<key>.tfstate-s3-backend.json)), the states of every workspace, and every lock on them, in S3 (C(.tflock)
    objects) and in the DynamoDB table the configuration, the last init or the record names.
  - Every later phase takes the returned RV(migration) as its O(tfstate.s3_backend.root_freeze#module:migration)
    option. RV(migration.action) says what the root needs - V(none) (the files, the last init and the record
    already say O(target)), V(verify) (the files and the init are done but an earlier run was interrupted, so
    prove and record again), V(init) (the files are done, the last C(terraform init) is not) or V(rewrite) (the
    backend configuration still locks another way) - and RV(migration.why) why.
  - A migration record still marked C(pending) by M(tfstate.s3_backend.root_freeze) (the run's intent, from its
    freeze to its record) is judged like a maintenance lock - while its run is live (its process on this controller
    runs, or, on another controller, its lease is not over) the root stops, naming that run (run ID, controller,
    job, started); only an intent whose run has provably ended shows a cut-over that did not finish
    (RV(migration.interrupted)) and is resumed. Its table counts as the root's lock table even when the files no
    longer name it.
  - A maintenance lock left by an interrupted run of this collection whose run has provably ended (same controller,
    process gone) or whose lease (O(freeze_lease)) is over is listed in RV(migration.stale_freezes), for
    M(tfstate.s3_backend.root_freeze) to release by its ID. Any other lock stops the root; a lock another run of this
    collection holds is named as that run, whatever it is (its maintenance lock, or a terraform lock such as a
    verification plan's taken while that run's intent is live).
  - When the root needs something (RV(migration.action) is not V(none)), and not in check mode, the phase then
    enables versioning on a bucket without it (only reached with O(enable_versioning=true)), proves with a probe
    object of its own (C(<key>.tfstate-s3-backend-probe-<lock ID>.tflock), written twice and deleted) that the bucket
    refuses a second conditional write (O(probe), for V(rewrite) and V(init)), proves that the DynamoDB lock table
    (RV(migration.freeze_table)) takes and deletes an item (a probe item C(<bucket>/<key>.tfstate-s3-backend-probe),
    deleted while absent, put and deleted again, since the thaw needs C(dynamodb:DeleteItem), so that without that right
    nothing is left behind), and with O(baseline_plan=true) and V(rewrite) runs C(terraform init -reconfigure)
    with the current backend and a C(terraform plan -detailed-exitcode), kept as RV(migration.baseline_rc).
  - The phase itself never reads or writes a state object; only the baseline plan, run by terraform, reads the state.
  - >-
    Before anything else (no AWS call yet), every file C(terraform init) loads from the root is checked the way
    terraform reads it: the root's C(*.tf) and C(*.tf.json) (also C(*.tofu) and C(*.tofu.json) for OpenTofu),
    the test files C(*.tftest.hcl) and C(*.tftest.json) of the root and of its C(tests) directory, and the
    C(-backend-config) files. A file in UTF-16 (with or without a byte order mark), binary data, bytes that are
    not UTF-8 outside comments, or a control character outside strings stops the root, naming the file, the
    line and the byte offset, for example
    C(/srv/repos/network/vars.tf:1: UTF-16 (little-endian, with a byte order mark), not UTF-8 at byte 0;
    terraform init cannot load it: ...). A UTF-8 byte order mark is accepted in C(.tf) files, as terraform does.
  - >-
    A Terragrunt root (a C(remote_state) block or attribute, or a C(generate) block holding a C(backend "s3") block,
    in a file of the root's own folder such as C(terragrunt.hcl)) is migrated like any other with O(terragrunt_bin):
    the rewrite edits the Terragrunt file, and the later phases run C(<terragrunt_bin> init -reconfigure) and
    C(<terragrunt_bin> plan) in the root, with C(TG_TF_PATH)/C(TERRAGRUNT_TFPATH) set to O(terraform_bin) (the
    binary checked here) and C(TG_NON_INTERACTIVE)/C(TERRAGRUNT_NON_INTERACTIVE). The last init is read where
    terragrunt ran terraform: the root, or the newest initialised folder of its C(.terragrunt-cache).
  - >-
    Without O(terragrunt_bin), and for the C(terragrunt = { remote_state }) form of Terragrunt before 0.19 or a
    Terragrunt backend whose C(bucket), C(key), C(region), C(dynamodb_table) or C(workspace_key_prefix) terragrunt
    computes (C(path_relative_to_include())), the root is decided from its files alone, with no AWS call and no
    binary run: RV(migration.action) is V(unsupported) (RV(migration.why) starts with C(terragrunt:)), or V(none)
    when its files and last init already say O(target). RV(migration.reinit_command) is what to run by hand.
  - >-
    The task fails, changing nothing, when the root cannot be read (the message names the file and line, for
    example C(/srv/repos/network/backend.tf:3: backend settings dynamodb_table are not literal values)), when the
    binary is not Terraform >= 1.10.1 or OpenTofu >= 1.10.2, when C(required_version) admits no such version,
    when O(target=dual) meets a backend without DynamoDB locking, when the bucket is missing or has no
    versioning (without O(enable_versioning)), when the bucket is in another region than the backend names
    (GetBucketLocation; C(state bucket <bucket> is in region <region>, but the backend at <file>:<line> names
    region <region>; ...): terraform cannot use such a backend against AWS), or when a lock is held. A held lock reads
    C(a lock is held on <bucket>/<key>), then the store, holder, ID, operation and creation time; a live
    maintenance lock of another run reads C(another migration run is working on this root: run <run id> on
    <controller>, started <time>, lease until <time>), then the lock. Several reasons are joined with
    C(; ). In these cases RV(migration) is returned too, as far as it was read.
  - >-
    It also fails when the lock table cannot take the probe item (C(the lock table <table> cannot be used for the
    maintenance lock), then that nothing was changed, and the AWS error), when
    the probe shows that the bucket accepted a second conditional write
    (C(Bucket <bucket> accepted a second PutObject with If-None-Match: * on one key: ...)), when the baseline
    init or plan fails (C(the baseline terraform plan failed: <terraform's first error>)), or on an AWS error
    (the message names the operation and the bucket, table or object; see RV(aws_error_code)).
options:
  root:
    description:
      - The Terraform root's directory on the controller. One of O(root) and O(repo_url) is required.
    type: path
  repo_url:
    description:
      - The root's git repository. The phase first brings this host's clone of it in O(workdir) to O(repo_version)
        (or to the unmerged work branch O(git_branch) an earlier run left), tracked files reset, as the
        C(tfstate.s3_backend.tfstate) role's C(checkout) entry point does (M(tfstate.s3_backend.root_checkout)),
        also in check mode; the root is the clone plus O(repo_subdir) (RV(checkout)). Credentials in it are never
        returned. A clone that fails stops the root in the phase C(checkout).
    type: str
  repo_version:
    description:
      - The branch, tag or commit of O(repo_url); default the remote's default branch.
    type: str
  repo_subdir:
    description:
      - The root's folder inside O(repo_url).
    type: str
  workdir:
    description:
      - Where the clones of O(repo_url) are kept (one per inventory host).
    type: path
    default: ~/.cache/tfstate-s3-backend/work
  git_branch:
    description:
      - The work branch an earlier run committed on; a clone continues on it while it is not merged.
    type: str
    default: tfstate/s3-native-locking
  root_name:
    description:
      - How reports and migration records name the root, for example its repository URL, instead of its directory.
        Any C(user:password@) in it is removed (RV(migration.root_name)).
    type: str
  init_args:
    description:
      - The arguments the root's C(terraform init) takes, such as C(-backend-config=backend.hcl) or
        C(-backend-config=key=network/terraform.tfstate). They count in the backend read here and are passed to the
        baseline C(terraform init).
    type: list
    elements: str
    default: []
  terraform_bin:
    description:
      - The binary to run, C(terraform) or C(tofu), by name (looked up in E(PATH)) or path. Later phases run the same
        binary (RV(migration.terraform.binary)).
    type: str
    default: terraform
  terragrunt_bin:
    description:
      - The terragrunt binary, by name or path, that re-initialises and plans a Terragrunt root
        (RV(migration.terragrunt_bin)). Ignored for other roots.
      - Unset, a Terragrunt root is not migrated - RV(migration.action) is V(unsupported).
      - Fails the phase when C(<terragrunt_bin> --version) does not run.
    type: str
  target:
    description:
      - The lock mode the root should end in. V(dual) sets C(use_lockfile) and keeps C(dynamodb_table), so clients
        that still lock with DynamoDB only and clients with the new configuration exclude each other; V(lockfile)
        keeps C(use_lockfile) only.
      - A staged migration runs V(dual) first, then V(lockfile) once every pipeline of the root uses the dual
        configuration.
      - V(dynamodb) rolls the root back to DynamoDB locking (the C(tfstate.s3_backend.rollback) role) - the table
        is O(dynamodb_table), else the one the files, the last C(terraform init) or the migration record name. The
        root stops, before anything changes, when its backend has no locking to roll back, no table is known, the
        backend names another table than O(dynamodb_table), or the table's key is not a string C(LockID) hash key.
        Versioning is not required. Unless in check mode, a missing table is created here (on-demand, C(LockID)
        hash key; that proves C(dynamodb:CreateTable)), then C(dynamodb:PutItem) and C(dynamodb:DeleteItem) on it
        are proven with a probe item and C(s3:GetObject) on every workspace's state with a one-byte read, before
        any lock is taken.
      - V(auto) (the role's C(migrate_target=auto)) first chooses the one stage the root moves this run, as
        M(tfstate.s3_backend.root_stage) does with O(dual_grace) (RV(stage)); a root that stays where it is is not
        read further (RV(target) is empty and RV(stage) holds its row).
    type: str
    choices: [dual, lockfile, dynamodb, auto]
    default: dual
  dual_grace:
    description:
      - With O(target=auto), how long a root stays in dual (M(tfstate.s3_backend.root_stage)'s option).
    type: str
    default: 7d
  dynamodb_table:
    description:
      - With O(target=dynamodb), the DynamoDB table to roll back to (the rollback role's C(rollback_table)).
        Unset, the table the backend's files, its last C(terraform init) or its migration record name.
    type: str
  enable_versioning:
    description:
      - Enable versioning on a state bucket without it (not in check mode, and only when the root needs a change).
        When V(false), such a bucket stops the root with the reason.
    type: bool
    default: false
  probe:
    description:
      - Prove that the state bucket refuses a second conditional write (C(If-None-Match) V(*)) on one key, which
        C(use_lockfile) needs, before a V(rewrite) or V(init). Not done in check mode.
    type: bool
    default: true
  baseline_plan:
    description:
      - Before a V(rewrite), run C(terraform init -reconfigure) with the current backend and
        C(terraform plan -detailed-exitcode), whose exit code M(tfstate.s3_backend.root_verify) compares after the
        cut-over. Not done in check mode.
    type: bool
    default: false
  freeze_lease:
    description:
      - How long, in seconds, a maintenance lock of this collection counts as live. It is written into this run's
        maintenance lock (RV(migration.freeze.info)); another run that finds a lock whose lease is over, or
        whose run has provably ended, releases it, and stops the root otherwise.
      - Also the age after which a maintenance lock that carries no lease (no run identity in its Info) counts as stale.
    type: int
    default: 3600
  terraform_timeout:
    description:
      - The longest one terraform command of the baseline (C(init), C(plan)) may run, in seconds. A command that
        runs longer is stopped and fails the phase. C(<terraform_bin> version) has 60 seconds.
    type: int
    default: 900
extends_documentation_fragment:
  - tfstate.s3_backend.attributes.action_phase
  - tfstate.s3_backend.aws
  - tfstate.s3_backend.backend_identity
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and decides the same way, without enabling versioning, probing the bucket or running the
        baseline plan.
  diff_mode:
    support: none
    description: Nothing in the root changes here.
  platform:
    platforms: aws
    support: full
    description:
      - Runs on the controller whatever the target host is, and needs no connection to it. Talks to the S3,
        DynamoDB and STS APIs of AWS or of a compatible endpoint; the backend's C(region) wins over O(region).
notes:
  - Needs C(s3:GetBucketVersioning), C(s3:GetBucketLocation), C(s3:ListBucket), C(s3:GetObject) on the locks and the migration record,
    C(dynamodb:BatchGetItem) or C(dynamodb:Scan) on the lock table, and, when the root needs a change,
    C(s3:PutBucketVersioning) (with O(enable_versioning)), C(s3:PutObject)/C(s3:DeleteObject) on the probe
    object and C(dynamodb:PutItem)/C(dynamodb:DeleteItem) on the lock table. C(sts:GetCallerIdentity) is used for
    RV(migration.account) when allowed.
seealso:
  - module: tfstate.s3_backend.root_freeze
  - module: tfstate.s3_backend.root_rewrite
  - module: tfstate.s3_backend.root_result
  - module: tfstate.s3_backend.terraform_root_info
author:
  - tfstate.s3_backend maintainers (@tfstate)
"""

EXAMPLES = r"""
- name: Read the root and decide what it needs
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/network
    init_args:
      - -backend-config=backend.hcl
    target: dual
    region: eu-west-1
  register: preflight

- name: Show what the root needs
  ansible.builtin.debug:
    msg: "{{ preflight.migration.action }}: {{ preflight.migration.why }}"

- name: Take the maintenance lock on every workspace's state when something is to change
  tfstate.s3_backend.root_freeze:
    migration: "{{ preflight.migration }}"
  when: preflight.migration.action != 'none'

- name: Go straight to use_lockfile with OpenTofu, enabling versioning and keeping a baseline plan
  tfstate.s3_backend.root_preflight:
    root: /srv/repos/payments
    terraform_bin: tofu
    target: lockfile
    enable_versioning: true
    baseline_plan: true
    freeze_lease: 7200
    profile: payments-prod
  register: payments
"""

RETURN = r"""
target:
  description: The lock mode the root moves to this run - O(target), or the stage O(target=auto) chose (empty when the root stays).
  returned: success
  type: str
  sample: dual
stage:
  description: With O(target=auto), the result of M(tfstate.s3_backend.root_stage) for the root; else V({}).
  returned: success
  type: dict
checkout:
  description:
    - The root's directory (C(root_path)), and with O(repo_url) this host's clone (C(clone)), its repository without
      credentials (C(repo_url)), C(commit) and C(branch).
  returned: success
  type: dict
  sample: {"root_path": "/srv/repos/network", "clone": null, "repo_url": null, "commit": null, "branch": null}
rewrite:
  description:
    - For a root the role does not migrate (RV(migration.action) V(unsupported)), the rewrite it needs, as
      M(tfstate.s3_backend.root_rewrite) computes it in check mode (its C(files) and C(diff)); nothing is written.
  returned: when RV(migration.action) is V(unsupported)
  type: dict
migration:
  description:
    - What the later phases need to know about the root, and what the report says about it before the change.
      Pass it unchanged as O(tfstate.s3_backend.root_freeze#module:migration) to the other phases.
    - The contract between the phases (C(Migration) in C(plugins/module_utils/_migration/contract.py)), serialised. Every key
      below is always there, null when it does not apply to the root.
  returned: success
  type: dict
  contains:
    host:
      description: The inventory host of the root.
      type: str
      sample: network
    root:
      description: The root's absolute directory.
      type: str
      sample: /srv/repos/network
    root_name:
      description: O(root_name), else the root's directory, without credentials; what reports and records call it.
      type: str
      sample: https://git.example.com/infra/network.git
    target:
      description: O(target).
      type: str
      sample: dual
    backend:
      description: The root's backend as read from its files and its last C(terraform init).
      type: dict
      contains:
        root:
          description: The root's absolute directory.
          type: str
        file:
          description: The file holding the C(backend "s3") block.
          type: str
          sample: /srv/repos/network/backend.tf
        line:
          description: The line of that block.
          type: int
          sample: 2
        form:
          description: How the backend is written, V(block) (HCL) or V(json) (C(.tf.json)).
          type: str
          sample: block
        config_files:
          description: The files that hold lock settings, which a rewrite edits (else the block's file).
          type: list
          elements: str
          sample: [/srv/repos/network/backend.tf]
        partial_config_files:
          description: The C(-backend-config) files of O(init_args).
          type: list
          elements: str
          sample: []
        settings:
          description:
            - The merged backend settings C(bucket), C(key), C(region), C(dynamodb_table), C(use_lockfile),
              C(workspace_key_prefix), C(encrypt), C(kms_key_id) and C(profile). Credentials are never read.
          type: dict
          sample: {"bucket": "acme-tfstate", "key": "network/terraform.tfstate", "region": "eu-west-1",
                   "dynamodb_table": "terraform-locks", "use_lockfile": false, "workspace_key_prefix": null,
                   "encrypt": true, "kms_key_id": null, "profile": null}
        lock_mode:
          description: The lock mode of the files, V(dynamodb), V(dual), V(lockfile) or V(none).
          type: str
          sample: dynamodb
        initialised_lock_mode:
          description: The lock mode of the last C(terraform init); null when the root was never initialised.
          type: str
          sample: dynamodb
        initialised:
          description:
            - C(bucket), C(key), C(dynamodb_table), C(use_lockfile) and C(lock_mode) of the last C(terraform init);
              null when there is none.
          type: dict
        required_version:
          description: The root's C(required_version) constraint, when it has one.
          type: str
          sample: ">= 1.10.1"
        working_dir:
          description:
            - Where the last init was read, the root; for a Terragrunt root the newest initialised folder of its
              C(.terragrunt-cache) when the root itself has none.
          type: str
          sample: /srv/repos/network
        unresolved_settings:
          description: The settings given as expressions (a Terragrunt file's), kept as their source text.
          type: list
          elements: str
          sample: []
        lock_sources:
          description:
            - Each file that sets the backend, in the order terraform merges them (the block's first, then the
              C(-backend-config) files) - C(file), C(index) (the backend's ordinal in the file), C(lock_settings)
              (its C(dynamodb_table), C(lock_table), C(use_lockfile), C(dynamodb_endpoint), no other setting) and
              C(fingerprint) (C(size) and C(sha256) of the bytes parsed).
            - A later phase measures the root again from these while the files hold the same bytes, and parses
              only a file that changed.
          type: list
          elements: dict
          sample: [{"file": "/srv/repos/network/backend.tf", "index": 0, "lock_settings": {"dynamodb_table": "locks"},
                    "fingerprint": {"size": 182, "sha256": "9f2c0e6d0b1d4c8e7a5b3f1e2d4c6b8a0f9e7d5c3b1a2f4e6d8c0b9a7f5e3d1c"}}]
        init_lock_settings:
          description: The lock settings of the C(-backend-config=key=value) arguments of O(init_args).
          type: dict
          sample: {}
    terraform:
      description: The terraform binary; null for a V(unsupported) root (not run).
      type: dict
      contains:
        binary:
          description: O(terraform_bin).
          type: str
          sample: terraform
        product:
          description: V(terraform) or V(opentofu).
          type: str
          sample: terraform
        version:
          description: Its version.
          type: str
          sample: 1.11.4
        supports_use_lockfile:
          description: Whether that version has C(use_lockfile).
          type: bool
          sample: true
    region:
      description: The region used for this root, the backend's C(region) first, else O(region).
      type: str
      sample: eu-west-1
    run_id:
      description:
        - The ID of this ansible-playbook run, the same for every root of the run (controller, process and its
          start; prefixed with C(awx-job-<id>-) under AWX).
      type: str
      sample: ctl01-48213-771204
    job_id:
      description: The AWX job ID, when there is one.
      type: str
      sample: "1234"
    controller:
      description: The controller's host name.
      type: str
      sample: ctl01
    started:
      description: When this run started (UTC, RFC 3339).
      type: str
      sample: "2026-11-29T20:05:36Z"
    lock_mode_before:
      description: The files' lock mode before the change.
      type: str
      sample: dynamodb
    initialised_lock_mode_before:
      description: The last C(terraform init)'s lock mode before the change.
      type: str
      sample: dynamodb
    account:
      description: The AWS account of the credentials, null when STS does not say.
      type: str
      sample: "123456789012"
    identity:
      description:
        - Who the root's AWS calls run as and where they go (see O(backend_identity)); the later phases connect
          the same way. No key, secret or token is ever part of it.
      type: dict
      version_added: 0.1.0
      contains:
        use_backend:
          description: Whether the backend's identity settings were used (O(backend_identity)).
          type: bool
          sample: true
        origin:
          description:
            - Where each part came from - C(profile), C(credentials), C(region), C(endpoints), C(assume_role) -
              V(backend), V(options) or V(default) (boto3's own chain).
          type: dict
          sample: {profile: options, credentials: options, region: backend, endpoints: default, assume_role: backend}
        ignored:
          description: The backend's identity settings not used because O(backend_identity) is V(false).
          type: list
          elements: str
          sample: []
        profile:
          description: The profile used, null for none.
          type: str
          sample: prod
        region:
          description: The region of the calls.
          type: str
          sample: eu-west-1
        endpoints:
          description: The endpoint of each service the backend names.
          type: dict
          sample: {}
        assume_role:
          description:
            - The role assumed through STS (C(role_arn), C(session_name), C(external_id), C(duration) in seconds,
              C(policy), C(policy_arns), C(tags), C(transitive_tag_keys), C(source_identity)), null for none.
          type: dict
          sample: {role_arn: "arn:aws:iam::123456789012:role/terraform-state", session_name: tfstate-s3-backend-ctl01-4242-1}
        principal:
          description: The caller ARN STS answered for these credentials, null when STS does not say.
          type: str
          sample: "arn:aws:sts::123456789012:assumed-role/terraform-state/tfstate-s3-backend-ctl01-4242-1"
        account:
          description: The account STS answered.
          type: str
          sample: "123456789012"
        where:
          description: The file and line of the backend block.
          type: str
          sample: /src/app/backend.tf:2
    workspaces:
      description: The workspaces whose state objects exist (V(default) when there is none).
      type: list
      elements: str
      sample: [default, staging]
    dynamodb_table:
      description:
        - The DynamoDB table the root's clients may still lock with, from the configuration, the last init or the
          migration record; null when none.
        - With O(target=dynamodb), the table the rollback goes back to (O(dynamodb_table) first).
      type: str
      sample: terraform-locks
    freeze_table:
      description:
        - RV(migration.dynamodb_table) when that table exists (the maintenance lock is taken there too).
        - With O(target=dynamodb), also when the preflight created it.
      type: str
      sample: terraform-locks
    table_existed:
      description: With O(target=dynamodb), whether the table existed when the preflight read it.
      returned: with O(target=dynamodb) and no blocker before the table was read
      type: bool
      sample: true
    table_created:
      description: With O(target=dynamodb), whether the preflight created the missing table.
      returned: with O(target=dynamodb), when the root needs a change and not in check mode
      type: bool
      sample: false
    record_before:
      description:
        - The migration record found next to the state, null when there is none. A C(pending) key (an earlier
          run's RV(migration.intent)) marks a cut-over that started and has not finished.
      type: dict
      sample: {"mode": "dual", "dynamodb_table": "terraform-locks", "cutover_time": "2026-11-20T09:12:00Z"}
    stale_freezes:
      description: Maintenance locks of earlier runs proven stale, which M(tfstate.s3_backend.root_freeze) releases.
      type: list
      elements: dict
      contains:
        workspace:
          description: The workspace of the locked state.
          type: str
        store:
          description: V(s3) or V(dynamodb).
          type: str
        id:
          description: The lock's ID.
          type: str
        why:
          description: Why it is stale.
          type: str
      sample:
        - workspace: default
          store: s3
          id: 0b1c6c0e-5a52-5bb4-9a57-3c0f0d9f8e11
          why: the maintenance lock of run ctl01-40022-700111, whose lease ended 2026-11-28T23:10:00Z
    interrupted:
      description: What shows that an earlier run stopped midway (stale maintenance locks, a missing record).
      type: list
      elements: str
      sample: [no migration record next to the state]
    action:
      description:
        - What the root needs, V(none), V(verify), V(init) or V(rewrite); V(unsupported) for a Terragrunt root the
          role cannot re-initialise (see RV(migration.unsupported)).
      type: str
      sample: rewrite
    terragrunt_bin:
      description: O(terragrunt_bin) for a Terragrunt root, which later phases run instead of terraform; else null.
      type: str
      sample: /usr/local/bin/terragrunt
    terragrunt:
      description: C(binary) and C(version) (the first line of C(--version)) of O(terragrunt_bin).
      type: dict
      returned: for a Terragrunt root with O(terragrunt_bin)
      sample: {"binary": "/usr/local/bin/terragrunt", "version": "terragrunt version v0.77.0"}
    unsupported:
      description: Why the role does not migrate the root, V(terragrunt).
      type: str
      returned: when RV(migration.action) is V(unsupported) or a Terragrunt root's V(none)
      sample: terragrunt
    reinit_command:
      description: The command that re-initialises the root by hand, for the report's next step.
      type: str
      returned: when RV(migration.action) is V(unsupported) or a Terragrunt root's V(none)
      sample: cd /srv/repos/network && terragrunt init -reconfigure
    why:
      description: Why, in one sentence.
      type: str
      sample: the backend configuration locks with dynamodb
    freeze:
      description: The maintenance lock of this root in this run.
      type: dict
      contains:
        lock_id:
          description: Its ID, the same for a host within one run, so a retried freeze is idempotent.
          type: str
          sample: 9d6b1a8e-3f7c-5d0e-8a1b-2c3d4e5f6a7b
        info:
          description: Its C(Info) text, naming the run and its lease.
          type: str
          sample: >-
            tfstate.s3_backend maintenance lock run=ctl01-48213-771204 controller=ctl01 pid=48213 pid_start=771204
            started=2026-11-29T20:05:36Z lease_until=2026-11-29T21:05:36Z
    intent:
      description:
        - The C(pending) intent M(tfstate.s3_backend.root_freeze) writes into the migration record once it holds the
          root, until M(tfstate.s3_backend.root_record) replaces it; what another run needs to judge whether this
          run is still live.
      type: dict
      sample: {"target": "dual", "run_id": "ctl01-48213-771204", "job_id": null, "controller": "ctl01", "pid": 48213,
               "pid_start": "771204", "started": "2026-11-29T20:05:36Z", "lease_until": "2026-11-29T21:05:36Z",
               "dynamodb_table": "terraform-locks"}
    baseline_rc:
      description: The exit code of the baseline C(terraform plan -detailed-exitcode), V(0) no changes, V(2) changes.
      type: int
      returned: with O(baseline_plan=true), RV(migration.action=rewrite) and not in check mode
      sample: 0
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
msg:
  description:
    - "On success C(<host>: <action> (<why>)); on failure the reason the root stopped."
  returned: always
  type: str
  sample: "network: rewrite (the backend configuration locks with dynamodb)"
aws_error_code:
  description: The AWS error code of a failed call.
  returned: on an AWS error
  type: str
  sample: AccessDenied
aws_operation:
  description: The API operation that failed.
  returned: on an AWS error
  type: str
  sample: ListObjectsV2
aws_resource:
  description: The bucket, object or table the failed call was about.
  returned: on an AWS error
  type: str
  sample: acme-tfstate
http_status:
  description: The HTTP status of the failed call.
  returned: on an AWS error
  type: int
  sample: 403
"""
