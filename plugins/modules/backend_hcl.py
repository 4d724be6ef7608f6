#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backend_hcl
short_description: Switch the lock settings of Terraform and OpenTofu S3 backends, keeping the files' formatting
version_added: 0.1.0
description:
  - Edits every S3 backend found in O(path) (the forms of M(tfstate.s3_backend.backend_info)) so that it locks
    state the way O(lock_mode) says, changing only the lines that must change.
  - "O(lock_mode=lockfile): C(use_lockfile = true) takes the place of C(dynamodb_table); C(dynamodb_table),
    C(dynamodb_endpoint) and C(endpoints.dynamodb) are removed and nothing else is. In a Terragrunt C(remote_state),
    its older name for the table, C(lock_table), is the table and goes too."
  - "O(lock_mode=dual): C(use_lockfile = true) is added right after C(dynamodb_table) (or Terragrunt's
    C(lock_table)), which stays. This is the safe intermediate step of a migration: a client with only
    C(dynamodb_table) and a dual client exclude each other."
  - "O(lock_mode=dynamodb) (rollback): C(use_lockfile) is removed; a backend without C(dynamodb_table) gets
    O(dynamodb_table)."
  - "A backend that does not lock, lock mode V(none) in M(tfstate.s3_backend.backend_info) (no table or an empty
    C(dynamodb_table), and C(use_lockfile) absent or false: a DynamoDB endpoint without a table, an explicit
    C(use_lockfile = false) opt-out), stays that way in B(every) mode: nothing is added and nothing is removed, not
    the endpoint either. It is reported in RV(untouched) with the kind C(no_lock_settings) and a reason saying what
    keeps it unlocked; this collection never turns locking on where there was none."
  - Indentation (tabs or spaces), line endings, comments (a comment on a removed line goes with it), the final
    newline or its absence, and the encoding are kept. A setting added on the line of another (a one-line object,
    a minified C(*.tf.json)) is separated as the file separates its entries (C(,) alone in a minified file). In
    the edited group of lines the C(=) signs (and trailing comments) are aligned as C(terraform fmt) aligns them
    when the group was aligned that way before.
    C(use_lockfile) is written as the bool C(true).
  - Never touched, and reported in RV(untouched) with file, line and reason, are C(data "terraform_remote_state")
    configurations, commented-out and templated backends, C(aws_dynamodb_table) resources, Terragrunt's
    C(dynamodb_table_tags), files that cannot be parsed (a C(backend) line terraform rejects, such as
    C(backend) with typographic quotes around C(s3), included), backends that do not lock, and backends that
    Terraform would refuse already because a setting is a variable or other expression. For a file named in
    O(path) most of these reasons fail the task instead; see O(fail_on_untouched). A
    C(dynamodb_table) taken from a Terragrunt C(locals) entry is removed where it is used; the local stays and is
    reported in RV(locals).
  - Every edited text is parsed again and its backend settings are compared with the expected ones before anything
    is written; when that fails, no file is written and the task fails naming the file and line.
  - Running O(lock_mode=dual) and then O(lock_mode=lockfile) gives the same bytes as O(lock_mode=lockfile)
    directly.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  path:
    description:
      - Files and directories to edit. Directories are walked as M(tfstate.s3_backend.backend_info) walks them
        (C(*.tofu) and C(*.tofu.json) like C(*.tf) and C(*.tf.json), a C(*.tfvars) file only when its name holds
        C(backend) and it sets backend arguments only); a file named here is always parsed, whatever its name, so an
        unusual partial-configuration file can be given. A named C(*.tfvars) file (such as the C(backend.tfvars) of
        C(-backend-config=backend.tfvars)) is read and rewritten like a C(*.tfbackend) file.
      - An entry that is a file (or a symlink to a file) is B(named); the files found by walking an entry that is
        a directory (or a symlink to one) are not. O(fail_on_untouched) treats the two differently.
    type: list
    elements: path
    required: true
    aliases: [paths]
  lock_mode:
    description:
      - The lock mode the backends get.
    type: str
    required: true
    choices: [lockfile, dual, dynamodb]
  fail_on_untouched:
    description:
      - Fail the task, writing no file at all, when a file cannot be rewritten as asked, instead of only reporting
        it in RV(untouched). The message names each such file with the line and the reason.
      - A file cannot be rewritten when it cannot be parsed or holds an S3 backend that cannot be edited
        (RV(untouched) kinds C(parse_error), C(template), C(needs_table), C(layout), C(expression),
        C(unreadable_config)), or, for a named file (see O(path)), when it holds no S3 backend at all
        (C(no_backend), C(remote_state_data), C(lock_table_resource), C(commented_out), C(other_backend)).
      - A backend that is already in O(lock_mode) (C(already)) or does not lock at all (C(no_lock_settings), lock
        mode V(none)) never fails the task, so a second run stays green.
      - When not set, V(true) for the files named in O(path) and V(false) for the files found in directories.
        V(true) also makes the files found in directories fail for a parse error or a backend that cannot be
        edited (never for holding no backend, as most files of a directory hold none). V(false) never fails for
        any of these and only reports them in RV(untouched).
    type: bool
    version_added: 0.1.0
  dynamodb_table:
    description:
      - The DynamoDB table to set where a backend has none, with O(lock_mode=dual) or O(lock_mode=dynamodb).
      - An existing C(dynamodb_table) is kept; when it differs from this one a warning says so.
      - Without it, backends that have no C(dynamodb_table) are left untouched in those modes.
    type: str
  exclude:
    description:
      - Shell patterns of files and directories to skip, matched against the path relative to each directory in
        O(path) and against the file name. C(*) also matches C(/).
    type: list
    elements: str
    default: []
  backup:
    description:
      - Keep a copy of each file's previous content before it is changed, in O(backup_dir) (required then), as
        C(<backup_dir>/<bucket>/<state key>/<file name>.<UTC time>~) - the bucket and state key of the file's
        backend name its folder; a file that names no bucket and key (a partial configuration) goes to a folder
        named after its directory. Backups are kept outside the repository, never beside the files, so that none
        lands in a commit; the policy is the C(tfstate.s3_backend.migrate) role's (M(tfstate.s3_backend.root_rewrite)).
      - No backup is made when the file's directory is in a git checkout whose tracked files have no change
        (untracked files do not count) and every file to rewrite there is tracked, so that C(HEAD) holds their
        previous content (RV(files[].in_git)); unless O(backup_clean_git).
    type: bool
    default: false
  backup_dir:
    description:
      - Where O(backup=true) keeps the previous content of each changed file; created when missing.
    type: path
    version_added: 0.1.0
  backup_keep:
    description:
      - How many backups of each file to keep in its folder of O(backup_dir); after a new backup, the older ones
        beyond this count are deleted (RV(files[].backups_pruned)). Only this collection's backups of that file
        (C(<name>.<UTC time>~)) are ever deleted. V(0) keeps every backup.
    type: int
    default: 10
    version_added: 0.1.0
  backup_clean_git:
    description:
      - With O(backup=true), back up also the files that are tracked and unchanged in their git checkout.
    type: bool
    default: false
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports the changes, and the diff with O(ignore:diff), without writing.
  diff_mode:
    support: full
    description: One before/after pair per changed file.
  platform:
    platforms: posix
    support: full
    description: Edits files on the target host.
notes:
  - Files are written through a temporary file in the same directory and an atomic rename, so a reader never sees
    half a file; the mode is kept, and the owner where the user running the module may keep it.
  - All or nothing - when a file cannot be backed up or written, the files already written get their previous
    content back, the backups of that run are removed, and the task fails naming the file.
  - After the change every working directory needs C(terraform init -reconfigure) (the state stays where it is).
  - Rolling back to DynamoDB after applies in lockfile mode needs the DynamoDB digest items fixed too; see the
    collection's migration documentation.
seealso:
  - module: tfstate.s3_backend.backend_info
  - name: Terraform S3 backend
    description: The backend's settings, including use_lockfile.
    link: https://developer.hashicorp.com/terraform/language/backend/s3
"""

EXAMPLES = r"""
- name: First step of a migration, lock with both DynamoDB and the S3 lock file
  tfstate.s3_backend.backend_hcl:
    path: /srv/repos/platform
    lock_mode: dual

- name: Preview the final step
  tfstate.s3_backend.backend_hcl:
    path: /srv/repos/platform
    lock_mode: lockfile
  check_mode: true
  diff: true
  register: preview

- name: Show what would stay as it is, and why
  ansible.builtin.debug:
    msg: "{{ item.file }}:{{ item.line }} {{ item.reason }}"
  loop: "{{ preview.untouched }}"

- name: Lock with the S3 lock file only, keeping backups
  tfstate.s3_backend.backend_hcl:
    path:
      - /srv/repos/platform
      - /srv/repos/app/config/prod.backend-config
    exclude:
      - "*/examples/*"
    lock_mode: lockfile
    backup: true
    backup_dir: /var/backups/tfstate

- name: Roll back to DynamoDB locking
  tfstate.s3_backend.backend_hcl:
    path: /srv/repos/platform
    lock_mode: dynamodb
    dynamodb_table: platform-terraform-locks

- name: Rewrite what a directory holds, reporting (not failing on) the files it cannot parse
  tfstate.s3_backend.backend_hcl:
    path:
      - /srv/repos/platform/live/prod/backend.tf   # named: a parse error here fails the task
      - /srv/repos/platform/modules                # walked: a parse error here is reported in untouched
    lock_mode: lockfile
  register: rewrite

- name: Rewrite named files, reporting what cannot be rewritten instead of failing
  tfstate.s3_backend.backend_hcl:
    path:
      - /srv/repos/platform/live/prod/backend.tf
      - /srv/repos/platform/live/prod/prod.tfbackend
    lock_mode: lockfile
    fail_on_untouched: false
"""

RETURN = r"""
changes:
  description: One entry per backend that changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
      sample: /srv/repos/app/backend.tf
    line:
      description: The line of the backend (before the change).
      type: int
      sample: 2
    form:
      description: How the backend is written, as in M(tfstate.s3_backend.backend_info).
      type: str
      sample: block
    lock_mode_before:
      description: The lock mode before the change.
      type: str
      sample: dynamodb
    lock_mode_after:
      description: The lock mode after the change (O(lock_mode)).
      type: str
      sample: lockfile
    removed:
      description: Settings removed (or replaced), C(endpoints.dynamodb) for that entry of C(endpoints).
      type: list
      elements: str
      sample: [dynamodb_table, dynamodb_endpoint]
    added:
      description: Settings added.
      type: list
      elements: str
      sample: [use_lockfile]
    updated:
      description: Settings whose value was changed in place (for example C(use_lockfile = "true") to C(true)).
      type: list
      elements: str
      sample: []
files:
  description: The files that changed (or would change in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /srv/repos/app/backend.tf
    backup_file:
      description: The backup copy of its previous content.
      type: str
      returned: with O(backup=true), not in check mode, unless RV(files[].in_git)
      sample: /var/backups/tfstate/acme-state/app/terraform.tfstate/backend.tf.20261127T102734Z~
    backups_pruned:
      description: The older backups of the file deleted after this one (O(backup_keep)).
      type: list
      elements: str
      returned: with RV(files[].backup_file)
      sample: [/var/backups/tfstate/acme-state/app/terraform.tfstate/backend.tf.20261101T080000Z~]
    in_git:
      description: The commit that holds the file's previous content, when that is why no backup was made.
      type: str
      returned: with O(backup=true), not in check mode, when the file's git checkout holds it unchanged
      sample: 4f2d0c1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d
untouched:
  description:
    - Backends and files left as they are, with the reason. C(kind) is one of C(already) (already in
      O(lock_mode)), C(no_lock_settings) (the backend does not lock, lock mode V(none); left so in every mode),
      C(needs_table), C(parse_error), C(template), C(remote_state_data), C(lock_table_resource),
      C(commented_out), C(other_backend), C(unreadable_config), C(layout), C(no_backend), C(expression) (a
      backend that Terraform reads itself holds a variable or other expression, which Terraform refuses).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
      sample: /srv/repos/app/backend.tf
    line:
      description: The line the reason refers to; null for a named file with nothing in it.
      type: int
      sample: 2
    kind:
      description: The kind of reason.
      type: str
      sample: already
    reason:
      description: Why it was left as it is.
      type: str
      sample: the backend at line 2 already uses only use_lockfile
locals:
  description: Terragrunt locals that held a removed C(dynamodb_table); they are left in place.
  returned: always
  type: list
  elements: dict
  sample: [{file: /srv/repos/live/root.hcl, line: 16, name: dynamodb_table,
            message: local.dynamodb_table held the removed dynamodb_table; it is left in place and is no longer
              referenced}]
diff:
  description: One before/after pair per changed file.
  returned: when diff mode is on and a file changed
  type: list
  elements: dict
  sample: [{before_header: /srv/repos/app/backend.tf (before), after_header: /srv/repos/app/backend.tf (after),
            before: "...", after: "..."}]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.rewrite import (
    MODES,
    RewriteError,
    describe_failures,
    rewrite_paths,
    untouched_failures,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.writer import (
    BackupPolicy,
    FileWrite,
    WriteFailed,
    backup_folder,
    write_files,
)


def write_changed(module, changed_results, params):
    """Write the changed files through the one writer (all or nothing); ``files`` entries. A file's root is its
    directory, named in the backup directory by its backend's bucket and state key, else by that directory."""
    policy = BackupPolicy(params["backup_dir"] if params["backup"] else None, params["backup_keep"],
                          params["backup_clean_git"])
    writes = []
    for result in changed_results:
        root = os.path.dirname(os.path.abspath(result.path))
        writes.append(FileWrite(result.path, result.file.encode(result.after), root,
                                backup_folder(result.settings, root)))
    try:
        return write_files(writes, policy)
    except ValueError as exc:  # a TFSTATE_NOW that is not a time (clock.now)
        module.fail_json(msg="nothing was written: %s" % exc)
    except WriteFailed as exc:
        module.fail_json(msg="cannot write %s: %s; %s" % (
            exc.path, exc.reason, "nothing was written" if exc.restored else "NOT ALL FILES WERE PUT BACK"),
            file=exc.path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="list", elements="path", required=True, aliases=["paths"]),
            lock_mode=dict(type="str", required=True, choices=list(MODES)),
            fail_on_untouched=dict(type="bool"),
            dynamodb_table=dict(type="str"),
            exclude=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            backup_keep=dict(type="int", default=10),
            backup_clean_git=dict(type="bool", default=False),
        ),
        required_if=[("backup", True, ["backup_dir"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["backup_keep"] < 0:
        module.fail_json(msg="backup_keep must be 0 (keep every backup) or more, got %s" % params["backup_keep"])
    missing = [path for path in params["path"] if not os.path.exists(path)]
    if missing:
        module.fail_json(msg="path does not exist: %s" % ", ".join(missing))
    try:
        results = rewrite_paths(params["path"], params["lock_mode"], params["dynamodb_table"], params["exclude"])
    except RewriteError as exc:
        module.fail_json(msg="nothing was written: %s" % exc, file=exc.path, line=exc.line)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read: %s" % to_native(exc))
    untouched = [entry for result in results for entry in result.untouched]
    failing = untouched_failures(results, params["fail_on_untouched"])
    if failing:
        module.fail_json(msg="nothing was written: %s (fail_on_untouched=false reports them in untouched instead)"
                         % describe_failures(failing), file=failing[0]["file"], line=failing[0]["line"],
                         untouched=untouched)

    changed_results = [result for result in results if result.changed]
    if module.check_mode:
        files = [{"path": result.path} for result in changed_results]
    else:
        files = write_changed(module, changed_results, params)
    output = dict(
        changed=bool(changed_results),
        changes=[change for result in results for change in result.changes],
        files=files,
        untouched=untouched,
        locals=[entry for result in results for entry in result.locals],
    )
    for change in output["changes"]:
        # Remarks (an existing dynamodb_table that differs from the given one) are task warnings.
        for warning in change.pop("warnings"):
            module.warn("%s:%d: %s" % (change["file"], change["line"], warning))
    if module._diff and changed_results:
        output["diff"] = [dict(before_header="%s (before)" % r.path, after_header="%s (after)" % r.path,
                               before=r.before, after=r.after) for r in changed_results]
    module.exit_json(**output)


if __name__ == "__main__":
    main()
