#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: root_publish
short_description: Commit a Terraform root's changed files on a branch of their own and push it
version_added: 0.1.0
description:
  - Commits only O(files), and only those that differ from the checked-out commit (ignored files are left out), on
    the branch O(branch); other changes in the working tree stay uncommitted (other staged changes stay staged).
  - The branch is made from the checked-out commit when it does not exist or is already contained in it, and
    continued when it has commits of its own (git refuses when the files clash); when it is checked out already
    (M(tfstate.s3_backend.root_checkout) continued it) the commit goes on top. The remote's default branch, and
    O(version), are refused as that branch; the change goes on a branch of its own, for review.
  - With O(push), the branch is pushed to C(origin), never forced. A branch whose pushed commit, or files, equal
    the local commit is not pushed again, so nothing to commit and the branch already pushed is no change.
  - When the push is refused because another run pushed to the branch meanwhile (roots of one repository share
    it), and the repository is O(own_clone), the commit is replayed on top of theirs and pushed again (up to five
    times); in any other repository (a user's checkout) the refusal fails, naming the branch.
  - A root that is not in a git repository publishes nothing; the result says why.
  - Author and committer are git's configured user; when git has none, C(GIT_AUTHOR_*) and C(GIT_COMMITTER_*)
    from the environment, else C(tfstate.s3_backend <tfstate@localhost>).
  - Git never prompts (C(GIT_TERMINAL_PROMPT=0)) and takes file names literally (C(GIT_LITERAL_PATHSPECS=1)).
    The user information of a remote's URL is removed from every message.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  root_path:
    description: The root's directory; its git repository is the one committed to.
    type: path
    required: true
  files:
    description: Absolute paths, inside the root's repository, of the files to commit when they differ from the checked-out commit.
    type: list
    elements: path
    default: []
  branch:
    description: The branch to commit on and push.
    type: str
    default: tfstate/s3-native-locking
  commit_message:
    description:
      - The commit message's subject. Its body says that the collection made the change, for O(host) when set.
    type: str
    default: Use S3 native state locking (use_lockfile)
  push:
    description: Push the branch to C(origin).
    type: bool
    default: false
  version:
    description: The version the root was checked out at (a branch name), refused as O(branch).
    type: str
  repo_url:
    description:
      - The URL the root's clone was made from (M(tfstate.s3_backend.root_checkout)'s O(tfstate.s3_backend.root_checkout#module:repo_url)).
      - Only its user information is used, for the push and the fetches, handed to git through its environment (a
        credential helper), so the clone's configuration names the repository without it.
      - Omitted, git uses the credentials it finds itself (SSH keys, credential helpers).
    type: str
  own_clone:
    description:
      - The work-directory clone that M(tfstate.s3_backend.root_checkout) made for this root (its RV(tfstate.s3_backend.root_checkout#module:clone)).
        Only in that clone is a refused push replayed on top of the branch another run pushed.
    type: path
  host:
    description: The inventory host the root is; starts every message and is named in the commit message's body.
    type: str
attributes:
  check_mode:
    support: full
    description: Commits and pushes nothing; reports the files that differ now and would be committed.
  diff_mode:
    support: full
    description: Shows the branch's commit before and after, and the files committed.
  platform:
    platforms: posix
    support: full
    description: Runs git on the target host.
seealso:
  - module: tfstate.s3_backend.root_checkout
requirements:
  - git
"""

EXAMPLES = r"""
- name: Commit the rewritten backend file on a branch and push it
  tfstate.s3_backend.root_publish:
    root_path: /srv/repos/network
    files:
      - /srv/repos/network/backend.tf
    branch: tfstate/s3-native-locking
    push: true
    host: "{{ inventory_hostname }}"
  register: network_published

- name: Commit and push in a clone made by root_checkout, replaying on the branch other roots pushed
  tfstate.s3_backend.root_publish:
    root_path: "{{ network_checkout.root_path }}"
    files: ["{{ network_checkout.root_path }}/backend.tf"]
    push: true
    own_clone: "{{ network_checkout.clone }}"
    version: main
    host: "{{ inventory_hostname }}"
"""

RETURN = r"""
published:
  description: What was published.
  returned: always
  type: dict
  contains:
    branch:
      description: The branch the files are on; null when nothing was published (see RV(published.reason)).
      type: str
      sample: tfstate/s3-native-locking
    commit:
      description: The branch's commit; null when nothing was published, and in check mode when a commit would be made.
      type: str
      sample: 9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a
    pushed:
      description: Whether origin's branch holds the commit (pushed now or before).
      type: bool
      sample: true
    files:
      description: The files this run committed (in check mode, would commit), absolute.
      type: list
      elements: str
      sample: [/srv/repos/network/backend.tf]
    reason:
      description: Why nothing was published, else null.
      type: str
      sample: "nothing to commit: /srv/repos/network/backend.tf unchanged"
  sample: {"branch": "tfstate/s3-native-locking", "commit": "9a8b7c6d5e4f30211f0e9d8c7b6a5f4e3d2c1b0a", "pushed": true,
           "files": ["/srv/repos/network/backend.tf"], "reason": null}
replayed:
  description: Whether the commit was replayed on top of the branch another run pushed.
  returned: always
  type: bool
  sample: false
msg:
  description: What the run did, or would do in check mode, in one line.
  returned: always
  type: str
  sample: Would commit stacks/app/backend.tf on tfstate/s3-native-locking in /srv/repos/infra and push it.
repository:
  description: The top of the root's git repository, null when the root is not in one.
  returned: always
  type: str
  sample: /srv/repos/network
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tfstate.s3_backend.plugins.module_utils.root_git import GitError, publish_root


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root_path=dict(type="path", required=True),
            files=dict(type="list", elements="path", default=[]),
            branch=dict(type="str", default="tfstate/s3-native-locking"),
            commit_message=dict(type="str", default="Use S3 native state locking (use_lockfile)"),
            push=dict(type="bool", default=False),
            version=dict(type="str"),
            own_clone=dict(type="path"),
            host=dict(type="str"),
            repo_url=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv, cwd, env):
        return module.run_command(argv, cwd=cwd, environ_update=env)

    try:
        done = publish_root(run, params["host"], params["root_path"], params["files"], params["branch"],
                            params["commit_message"], push=params["push"], version=params["version"],
                            own_clone=params["own_clone"], check_mode=module.check_mode,
                            binary=module.get_bin_path("git", required=True), repo_url=params["repo_url"])
    except GitError as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=done["changed"], published=done["published"], replayed=done["replayed"],
                  repository=done["repository"], msg=done["msg"])
    if module._diff and done["before"] is not None:
        result["diff"] = dict(before=done["before"], after=done["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
