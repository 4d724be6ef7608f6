# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Terraform root's git side: check the root out (a work clone of a remote repository, or a local
checkout) and publish changed files on a branch of their own.

No Ansible imports. The decisions are small pure functions; ``checkout_root`` and ``publish_root``
run git through a ``Git`` object built on any ``run(argv, cwd, env) -> (rc, stdout, stderr)``
(the modules pass ``AnsibleModule.run_command``; the unit tests ``subprocess``). Git always runs
with argv lists, never prompts (``GIT_TERMINAL_PROMPT=0``) and takes file names literally
(``GIT_LITERAL_PATHSPECS=1``). The user information of a repository URL (``user:token@``) never
appears in a returned value or a message.
"""

import hashlib
import os
import re
import shutil
import subprocess
from urllib.parse import unquote

from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url

DEFAULT_IDENTITY = ("tfstate.s3_backend", "tfstate@localhost")
# A refused push is replayed on the branch another run pushed at most this many times.
REPLAY_ATTEMPTS = 5
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


class GitError(Exception):
    """The root cannot be checked out or published; the message says why, naming the root.

    ``detail`` is what git said (user information removed), when a git command failed.
    """

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail


# ---------------------------------------------------------------------------
# Pure decisions

def scrub_userinfo(text):
    """Any text (git's stderr) without the credentials of the URLs in it (redact.redact_url)."""
    return redact_url(text or "")


# A credential helper that answers git's "get" from two variables of the git process's own environment,
# after an empty value that clears any helper configured elsewhere.
_CREDENTIAL_HELPER = ('!f() { test "$1" = get || exit 0; printf "username=%s\\n" "$TFSTATE_GIT_USERNAME"; '
                      'printf "password=%s\\n" "$TFSTATE_GIT_PASSWORD"; }; f')
_HTTP_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^/@\s]*)@(?P<rest>.*)$", re.IGNORECASE)


def url_credentials(url):
    """``(url without user information, environment for git)``: the credentials travel to git through a
    credential helper reading the git process's environment, so no clone's ``.git/config`` ever holds them.

    Only http(s) URLs carry a password this way; any other URL is returned as it is, with no environment.
    """
    match = _HTTP_USERINFO.match(url or "")
    if not match:
        return url, {}
    user, _sep, password = match.group("userinfo").partition(":")
    env = {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": _CREDENTIAL_HELPER,
        "TFSTATE_GIT_USERNAME": unquote(user),
        "TFSTATE_GIT_PASSWORD": unquote(password),
    }
    return match.group("scheme") + match.group("rest"), env


def clone_name(host):
    """The folder of a host's clone: the host name, or, when it is not a plain file name (terraform_roots
    names hosts after relative paths), the name flattened plus a hash, so flattened names stay apart.
    """
    if _PLAIN_NAME.match(host):
        return host
    return "%s-%s" % (re.sub(r"[^A-Za-z0-9._-]", "_", host), hashlib.sha1(host.encode("utf-8")).hexdigest()[:8])


def pick_work_tip(local_tip, remote_tip, remote_in_local):
    """The tip of the work branch to go on from: the pushed one, unless the local branch holds everything
    pushed (a run killed between its commit and its push). None when the branch exists nowhere.
    """
    if local_tip and (not remote_tip or remote_in_local):
        return local_tip
    return remote_tip


def work_checkout(base, tip, tip_merged, branch):
    """``(commit, branch)`` to check out: the work branch's tip while it is not merged into the version's
    commit ``base`` (an earlier run's work goes on), else ``base`` detached (``branch`` None).
    """
    if tip and not tip_merged:
        return tip, branch
    return base, None


def parse_status_v2(text):
    """``git status --porcelain=v2 --branch`` as ``{"oid", "head", "changes"}``."""
    status = {"oid": None, "head": None, "changes": []}
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            status["oid"] = line[len("# branch.oid "):]
        elif line.startswith("# branch.head "):
            status["head"] = line[len("# branch.head "):]
        elif line and not line.startswith("# "):
            status["changes"].append(line)
    return status


def checkout_needed(status, commit, branch):
    """Whether the clone must be checked out: another commit or branch, or tracked files changed."""
    return status["oid"] != commit or status["head"] != (branch or "(detached)") or bool(status["changes"])


def checkout_argv(commit, branch):
    """Check ``commit`` out, dropping changes to tracked files: on ``branch`` (reset to it) or detached."""
    return ["checkout", "--quiet", "--force"] + (["-B", branch] if branch else ["--detach"]) + [commit]


def relative_files(files, top):
    """The files as paths relative to the repository's top, or ``(None, bad)`` listing those that are not
    absolute paths inside it. Symbolic links are resolved, as git sees the files.
    """
    relative = []
    bad = []
    for path in files:
        if not os.path.isabs(path):
            bad.append(path)
            continue
        rel = os.path.relpath(os.path.realpath(path), top)
        if rel == ".." or rel.startswith("../") or rel == ".":
            bad.append(path)
        else:
            relative.append(rel)
    return (None, bad) if bad else (relative, [])


def branch_refusal(branch, valid, default_branch, version):
    """Why ``branch`` cannot take the change (None when it can): the change goes on a branch of its own."""
    if not valid:
        why = "is not a valid branch name"
    elif default_branch and branch == default_branch:
        why = "is the default branch of origin"
    elif version and branch == version:
        why = "is the version checked out"
    else:
        return None
    return "the work branch %s %s; the change goes on a branch of its own, for review." % (branch, why)


def pending_files(status_z, relative):
    """Which of ``relative`` differ from the checked-out commit, in git's order, from
    ``git status --porcelain -z --untracked-files=all``. A rename's or copy's old path (the entry after it)
    is not an entry of its own.
    """
    wanted = set(relative)
    found = []
    entries = status_z.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            index += 1  # the original path
        if path in wanted and path not in found:
            found.append(path)
    return found


def commit_identity(config_output, environ):
    """The environment a commit needs: nothing when git's configuration names both user.name and
    user.email, else the ``GIT_AUTHOR_*``/``GIT_COMMITTER_*`` of ``environ``, else the collection's own.
    """
    keys = set(line.split(" ", 1)[0].lower() for line in config_output.splitlines() if line.strip())
    if {"user.name", "user.email"} <= keys:
        return {}
    identity = {}
    for role in ("AUTHOR", "COMMITTER"):
        identity["GIT_%s_NAME" % role] = environ.get("GIT_%s_NAME" % role) or DEFAULT_IDENTITY[0]
        identity["GIT_%s_EMAIL" % role] = environ.get("GIT_%s_EMAIL" % role) or DEFAULT_IDENTITY[1]
    return identity


def switch_argv(branch, exists, behind):
    """Go to the work branch keeping the changed files: a missing branch, or one already contained in the
    checked-out commit, starts here (``-B``); one with commits of its own is continued (git refuses
    when the files clash).
    """
    if exists and not behind:
        return ["checkout", "--quiet", branch]
    return ["checkout", "--quiet", "-B", branch]


def already_pushed(remote_tip, head, same_files):
    """The branch on origin is this commit, or has the same files (nothing to push)."""
    return bool(remote_tip) and (remote_tip == head or same_files)


def published_view(branch, on_branch, head, to_commit, top, files, pushed, check_mode):
    """The ``tfstate_published`` record: ``{branch, commit, pushed, files, reason}``.

    ``files`` are those this run commits (in check mode: would commit); ``reason`` says why nothing was
    published (``branch`` is then None). In check mode the commit to be made does not exist yet.
    """
    preview = check_mode and bool(to_commit)
    published_branch = branch if on_branch or preview else None
    return {
        "branch": published_branch,
        "commit": None if published_branch is None or preview else head,
        "pushed": bool(pushed) and not preview,
        "files": [top + "/" + path for path in to_commit],
        "reason": None if published_branch is not None else
        "nothing to commit: %s unchanged" % (", ".join(files) or "no files given"),
    }


def publish_message(published, to_commit, branch, top, push, check_mode):
    """One line saying what the run did, or would do in check mode."""
    if to_commit and check_mode:
        return "Would commit %s on %s in %s%s." % (", ".join(to_commit), branch, top, " and push it" if push else "")
    if to_commit:
        pushed = " and pushed it" if published["pushed"] else ""
        return "Committed %s on %s in %s%s." % (", ".join(to_commit), branch, top, pushed)
    if published["branch"]:
        return "Nothing to commit on %s in %s%s." % (branch, top, "; it is pushed" if published["pushed"] else "")
    return published["reason"]


def nothing_published(reason):
    return {"branch": None, "commit": None, "pushed": False, "files": [], "reason": reason}


# ---------------------------------------------------------------------------
# Running git

class Git:
    """git through ``run(argv, cwd, env) -> (rc, stdout, stderr)`` with a fixed environment."""

    def __init__(self, run, binary="git", env=None):
        self.run = run
        self.binary = binary
        self.env = dict(env or {})
        self.env.setdefault("GIT_TERMINAL_PROMPT", "0")
        self.env.setdefault("GIT_LITERAL_PATHSPECS", "1")

    def __call__(self, cwd, *args, **kwargs):
        """Run ``git args`` in ``cwd``; GitError unless rc is in ``ok`` (default ``(0,)``)."""
        ok = kwargs.get("ok", (0,))
        env = dict(self.env, **kwargs.get("env", {}))
        rc, out, err = self.run([self.binary] + list(args), cwd, env)
        if ok is not None and rc not in ok:
            detail = scrub_userinfo(err).strip() or scrub_userinfo(out).strip()
            raise GitError("git %s failed (rc=%s) in %s: %s" % (args[0] if args else "", rc, cwd, detail), detail)
        return rc, out, err

    def commit(self, cwd, ref):
        """The commit ``ref`` names, or None."""
        rc, out, _err = self(cwd, "rev-parse", "--verify", "--quiet", ref + "^{commit}", ok=None)
        return out.strip() if rc == 0 and out.strip() else None

    def is_ancestor(self, cwd, older, newer):
        rc, _out, _err = self(cwd, "merge-base", "--is-ancestor", older, newer, ok=(0, 1))
        return rc == 0


def committed_in(git, root, files):
    """The commit (HEAD) that holds ``files`` exactly as they are now, or None when a backup is needed.

    That is when ``root`` lies in a git work tree whose tracked files have no change (staged or
    not; untracked files such as ``.terraform`` do not count) and every file is tracked there:
    the files' previous content is then in git, and a backup copy adds nothing. Anything else -
    no git, no repository, no commit yet, a change, an untracked or outside file - is None.
    """
    try:
        rc, top, _err = git(root, "rev-parse", "--show-toplevel", ok=None)
        if rc != 0 or not top.strip():
            return None
        top = top.strip()
        head = git.commit(top, "HEAD")
        relative, bad = relative_files(files, top)
        if not head or bad or not relative:
            return None
        rc, changes, _err = git(top, "status", "--porcelain=v1", "--untracked-files=no", ok=None)
        if rc != 0 or changes.strip():
            return None
        rc, _out, _err = git(top, "ls-files", "--error-unmatch", "--", *relative, ok=None)
    except (GitError, OSError):
        return None
    return head if rc == 0 else None


def _prefix(host):
    return "%s: " % host if host else ""


def checkout_local(host, root):
    """The local root's directory, expanded and absolute; it must exist."""
    path = os.path.realpath(os.path.expanduser(root))
    if not os.path.isdir(path):
        raise GitError("%sthe root %s is not a directory (%s %s)." % (
            _prefix(host), root, path, "is a file" if os.path.exists(path) else "does not exist"))
    return {"changed": False, "root_path": path, "clone": None, "commit": None, "branch": None,
            "before": None, "after": None}


def _fresh_clone(git, repo_url, workdir, clone, prefix, shown):
    """Clone ``repo_url`` into ``clone`` unless it already is a clone of it; True when it cloned.

    Re-cloned when the folder is not a clone of this repository (or never became one); a clone killed
    after writing its configuration is completed by the fetch. The clone's origin is the URL without its
    credentials; they reach git only through its environment (url_credentials).
    """
    origin_url, auth = url_credentials(repo_url)
    origin = None
    if os.path.isdir(clone):
        rc, out, _err = git(clone, "config", "--get", "remote.origin.url", ok=None)
        origin = out.rstrip("\n") if rc == 0 else None
    if origin == repo_url and origin != origin_url:
        # A clone made by an earlier release kept the credentials in its configuration: drop them.
        git(clone, "remote", "set-url", "origin", origin_url)
        origin = origin_url
    if origin == origin_url:
        return False
    if os.path.isdir(clone) and not os.path.islink(clone):
        shutil.rmtree(clone)
    elif os.path.lexists(clone):
        os.unlink(clone)
    if not os.path.isdir(workdir):
        os.makedirs(workdir)
    try:
        git(workdir, "clone", "--quiet", "--no-checkout", "--", origin_url, clone, env=auth)
    except GitError as exc:
        raise GitError("%scould not clone %s: %s" % (prefix, shown, exc.detail), exc.detail)
    return True


def _fetch(git, clone, version, prefix, shown, auth):
    """Fetch every branch and tag of origin (and its default branch when no version is given)."""
    # Only one run works in a clone at a time: an index lock here was left by a git process killed earlier.
    lock = os.path.join(clone, ".git", "index.lock")
    if os.path.lexists(lock):
        os.unlink(lock)
    try:
        git(clone, "fetch", "--quiet", "--prune", "--force", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*",
            env=auth)
        if not version:
            git(clone, "remote", "set-head", "origin", "--auto", env=auth)
    except GitError as exc:
        raise GitError("%scould not fetch %s: %s" % (prefix, shown, exc.detail), exc.detail)


def _checkout_target(git, clone, version, branch, prefix, shown):
    """``(commit, work branch or None)`` to check out: the version, or the unmerged work branch."""
    # A branch name is looked up on the remote first: a local branch of that name may be stale.
    if version:
        base = git.commit(clone, "refs/remotes/origin/" + version) or git.commit(clone, version)
    else:
        base = git.commit(clone, "refs/remotes/origin/HEAD")
    if not base:
        raise GitError("%s%s has no branch, tag or commit %s." % (prefix, shown, version or "(default branch)"))
    local_tip = git.commit(clone, "refs/heads/" + branch) if branch else None
    remote_tip = git.commit(clone, "refs/remotes/origin/" + branch) if branch else None
    remote_in_local = bool(local_tip and remote_tip) and git.is_ancestor(clone, remote_tip, local_tip)
    tip = pick_work_tip(local_tip, remote_tip, remote_in_local)
    # A work branch already merged into the version (its pull request went in) is finished.
    tip_merged = bool(tip) and git.is_ancestor(clone, tip, base)
    return work_checkout(base, tip, tip_merged, branch)


def checkout_remote(run, host, repo_url, version, subdir, workdir, branch, binary="git"):
    """Bring this host's clone of ``repo_url`` in ``workdir`` to the version (or the unmerged work branch
    an earlier run left) with tracked files reset; untracked files are kept. Returns a dict with
    ``changed``, ``root_path``, ``clone``, ``commit``, ``branch``, ``before`` and ``after``.
    """
    prefix = _prefix(host)
    shown = redact_url(repo_url)
    version = version or ""
    if version.startswith("-"):
        raise GitError("%sthe version %s is not a branch, tag or commit." % (prefix, version))
    workdir = os.path.realpath(os.path.expanduser(workdir))
    clone = os.path.join(workdir, clone_name(host))
    # Git never looks above the clone for a repository (a broken clone must not act on an enclosing one).
    git = Git(run, binary, env={"GIT_CEILING_DIRECTORIES": workdir})
    changed = _fresh_clone(git, repo_url, workdir, clone, prefix, shown)
    _fetch(git, clone, version, prefix, shown, url_credentials(repo_url)[1])
    commit, work_branch = _checkout_target(git, clone, version, branch, prefix, shown)

    _rc, out, _err = git(clone, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    status = parse_status_v2(out)
    before = {"commit": status["oid"], "branch": None if status["head"] == "(detached)" else status["head"],
              "changed_files": len(status["changes"])}
    if checkout_needed(status, commit, work_branch):
        git(clone, *checkout_argv(commit, work_branch))
        changed = True

    root_dir = os.path.realpath(os.path.join(clone, subdir or ""))
    if not os.path.isdir(root_dir) or not (root_dir + "/").startswith(clone + "/"):
        raise GitError("%s%s at %s has no directory %s (%s)." % (prefix, shown, commit[:12], subdir or ".", root_dir))
    return {"changed": changed, "root_path": root_dir, "clone": clone, "commit": commit, "branch": work_branch,
            "before": before, "after": {"commit": commit, "branch": work_branch, "changed_files": 0}}


def _commit_files(git, top, to_commit, branch, on_branch, before_tip, message, host, identity):
    """Commit ``to_commit`` on ``branch``, switching to it (created or fast-forwarded) first."""
    if not on_branch:
        exists = before_tip is not None
        behind = exists and git.is_ancestor(top, "refs/heads/" + branch, "HEAD")
        git(top, *switch_argv(branch, exists, behind))
    git(top, "add", "--", *to_commit)
    # With paths, git commits only those (other staged changes stay staged).
    body = "Changed by the tfstate.s3_backend collection%s." % (" for " + host if host else "")
    git(top, "commit", "--quiet", "-m", message, "-m", body, "--", *to_commit, env=identity)


def _push_branch(git, top, branch, head, own_clone, identity, check_mode, prefix, auth):
    """Push ``branch`` to origin unless it holds it already: ``(pushed, replayed, changed)``.

    ``changed`` is True when it pushed or would push (check mode), False when origin had it already.
    """
    ref = "refs/heads/%s" % branch
    tracking = "refs/remotes/origin/%s" % branch
    out = git(top, "ls-remote", "--heads", "origin", ref, env=auth)[1]
    remote_tip = (out.split() or [""])[0]
    same_files = False
    if remote_tip and remote_tip != head:
        git(top, "fetch", "--quiet", "origin", "+%s:%s" % (ref, tracking), env=auth)
        same_files = git(top, "diff", "--quiet", "HEAD", tracking, "--", ok=(0, 1))[0] == 0
    if already_pushed(remote_tip, head, same_files):
        return True, False, False
    if check_mode:
        return False, False, True  # would push
    replayed = False
    rc, _out, err = git(top, "push", "--quiet", "--set-upstream", "origin", "%s:%s" % (ref, ref), ok=None,
                        env=auth)
    replay = own_clone and os.path.realpath(top) == os.path.realpath(own_clone)
    # Roots of one repository share the branch: another root's run may have pushed to it since this
    # clone was made. Only in this host's own clone is the commit replayed on top of theirs; a local
    # checkout is the user's to reconcile.
    attempts = REPLAY_ATTEMPTS if rc != 0 and replay else 0
    for _attempt in range(attempts):
        git(top, "fetch", "--quiet", "origin", "+%s:%s" % (ref, tracking), env=auth)
        rc, _out, err = git(top, "rebase", "--quiet", tracking, ok=None, env=identity)
        if rc != 0:
            git(top, "rebase", "--abort", ok=None)
            continue
        replayed = True
        rc, _out, err = git(top, "push", "--quiet", "--set-upstream", "origin", "%s:%s" % (ref, ref), ok=None,
                            env=auth)
        if rc == 0:
            break
    if rc != 0:
        raise GitError("%scould not push %s to origin of %s: %s" % (prefix, branch, top, scrub_userinfo(err).strip()))
    return True, replayed, True


def publish_root(run, host, root_path, files, branch, message, push=False, version=None, own_clone=None,
                 check_mode=False, environ=None, binary="git", repo_url=None):
    """Commit ``files`` (those that differ from the checked-out commit) on ``branch`` and push it.

    Returns ``{"changed", "published", "replayed", "repository", "before", "after"}``; ``published`` is the
    ``tfstate_published`` record (see ``published_view``). Check mode commits and pushes nothing.
    ``repo_url``: the URL the clone was made from; its credentials reach git through its environment only.
    """
    prefix = _prefix(host)
    environ = os.environ if environ is None else environ
    if not os.path.isdir(root_path):
        raise GitError("%sthe root %s is not a directory." % (prefix, root_path))
    git = Git(run, binary)
    rc, out, _err = git(root_path, "rev-parse", "--show-toplevel", ok=None)
    if rc != 0:
        reason = "the root %s is not in a git repository" % root_path
        return {"changed": False, "published": nothing_published(reason), "replayed": False, "repository": None,
                "msg": reason, "before": None, "after": None}
    top = out.strip()
    relative, bad = relative_files(files, top)
    if bad:
        raise GitError("%sthe files to publish must be absolute paths inside %s: %s" % (prefix, top, ", ".join(files)))
    valid = git(top, "check-ref-format", "--branch", branch, ok=None)[0] == 0
    rc, out, _err = git(top, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", ok=None)
    default_branch = out.strip()[len("refs/remotes/origin/"):] if rc == 0 else ""
    refusal = branch_refusal(branch, valid, default_branch, version)
    if refusal:
        raise GitError(prefix + refusal)

    to_commit = []
    if relative:
        _rc, out, _err = git(top, "status", "--porcelain", "-z", "--untracked-files=all", "--", *relative)
        to_commit = pending_files(out, relative)
    rc, out, _err = git(top, "symbolic-ref", "--quiet", "--short", "HEAD", ok=(0, 1))
    on_branch = rc == 0 and out.strip() == branch
    identity = commit_identity(git(top, "config", "--get-regexp", r"^user\.(name|email)$", ok=(0, 1))[1], environ)
    before_tip = git.commit(top, "refs/heads/" + branch)
    changed = bool(to_commit)
    if to_commit and not check_mode:
        _commit_files(git, top, to_commit, branch, on_branch, before_tip, message, host, identity)

    head, head_ref = git(top, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD")[1].split()[:2]
    now_on_branch = head_ref == "refs/heads/" + branch
    pushed = False
    replayed = False
    if push and now_on_branch:
        auth = url_credentials(repo_url)[1] if repo_url else {}
        pushed, replayed, pushes = _push_branch(git, top, branch, head, own_clone, identity, check_mode, prefix, auth)
        changed = changed or pushes
        head = git(top, "rev-parse", "HEAD")[1].strip()

    published = published_view(branch, now_on_branch, head, to_commit, top, files, pushed, check_mode)
    return {"changed": changed, "published": published, "replayed": replayed, "repository": top,
            "msg": publish_message(published, to_commit, branch, top, push, check_mode),
            "before": {"branch": branch, "commit": before_tip},
            "after": {"branch": branch, "commit": published["commit"] if published["branch"] else before_tip,
                      "files": published["files"], "pushed": published["pushed"]}}


def run_here(argv, cwd, env=None):
    """``(rc, stdout, stderr)`` of a git command on this machine, ``env`` added to the environment: the
    runner of the action plugins (the modules use ``AnsibleModule.run_command``)."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as exc:
        return 127, "", "%s: %s" % (argv[0], exc)
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def git_binary():
    """The git on the PATH; a GitError when there is none."""
    found = shutil.which("git")
    if not found:
        raise GitError("git is not installed on this machine (not on the PATH).")
    return found
