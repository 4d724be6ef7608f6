"""root_git: checkout and publish run with real git against a bare repository (the pure decisions:
tests/unit/plugins/module_utils/test_root_git.py).

What happened is read back through git itself (the bare repository's refs and trees, the clone's HEAD,
status and reflog), not from the functions' own results alone.
"""

import os
import subprocess

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils import root_git as rg

BRANCH = "tfstate/s3-native-locking"


# ---------------------------------------------------------------------------
# With real git

def run(argv, cwd, env):
    proc = subprocess.run(argv, cwd=cwd, env=dict(os.environ, **env), capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def git(*args, **kwargs):
    proc = subprocess.run(["git"] + list(args), capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    """A bare repository with main (stacks/app/backend.tf, README.md) and a seed clone to push from."""
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Unit\n\temail = unit@example.test\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    bare = tmp_path / "infra.git"
    seed = tmp_path / "seed"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git("clone", "--quiet", str(bare), str(seed))
    for name in ("app", "net"):
        (seed / "stacks" / name).mkdir(parents=True)
        (seed / "stacks" / name / "backend.tf").write_text("old %s\n" % name)
    (seed / "README.md").write_text("infra\n")
    git("add", "--all", cwd=seed)
    git("commit", "--quiet", "-m", "Seed", cwd=seed)
    git("push", "--quiet", "origin", "main", cwd=seed)
    return {"bare": str(bare), "seed": seed, "main": git("rev-parse", "HEAD", cwd=seed), "work": str(tmp_path / "work")}


def checkout(repo, host="app", **kwargs):
    args = dict(version=None, subdir="stacks/%s" % host, workdir=repo["work"], branch=BRANCH)
    args.update(kwargs)
    return rg.checkout_remote(run, host, repo["bare"], args["version"], args["subdir"], args["workdir"], args["branch"])


def publish(root, files, **kwargs):
    return rg.publish_root(run, kwargs.pop("host", "app"), root, files, kwargs.pop("branch", BRANCH),
                           "Use S3 native state locking (use_lockfile)", **kwargs)


def test_checkout_clones_resets_and_then_changes_nothing(repo):
    found = checkout(repo)
    clone = os.path.join(os.path.realpath(repo["work"]), "app")
    assert found["changed"] and found["clone"] == clone and found["branch"] is None
    assert found["root_path"] == os.path.join(clone, "stacks", "app")
    assert git("rev-parse", "HEAD", cwd=clone) == repo["main"] == found["commit"]
    assert git("status", "--porcelain", cwd=clone) == ""

    with open(os.path.join(found["root_path"], "backend.tf"), "w") as handle:
        handle.write("half-written")
    os.mkdir(os.path.join(found["root_path"], ".terraform"))
    open(os.path.join(clone, ".git", "index.lock"), "w").close()
    again = checkout(repo)
    assert again["changed"]
    assert open(os.path.join(found["root_path"], "backend.tf")).read() == "old app\n"
    assert os.path.isdir(os.path.join(found["root_path"], ".terraform"))
    assert not os.path.exists(os.path.join(clone, ".git", "index.lock"))
    assert checkout(repo)["changed"] is False


def test_checkout_replaces_a_folder_that_is_not_this_clone(repo, tmp_path):
    stray = os.path.join(repo["work"], "app")
    os.makedirs(stray)
    open(os.path.join(stray, "junk"), "w").close()
    found = checkout(repo)
    assert found["changed"] and not os.path.exists(os.path.join(stray, "junk"))
    assert git("config", "--get", "remote.origin.url", cwd=stray) == repo["bare"]


def test_checkout_names_what_it_cannot_find(repo):
    with pytest.raises(rg.GitError, match=r"^app: .*infra.git has no branch, tag or commit v9\.$"):
        checkout(repo, version="v9")
    with pytest.raises(rg.GitError, match=r"^app: .*infra.git at [0-9a-f]{12} has no directory stacks/db "):
        checkout(repo, subdir="stacks/db")
    with pytest.raises(rg.GitError, match=r"has no directory \.\./\.\."):
        checkout(repo, subdir="../..")
    with pytest.raises(rg.GitError, match="the version --upload-pack=x is not a branch"):
        checkout(repo, version="--upload-pack=x")
    with pytest.raises(rg.GitError, match=r"^app: the root /nowhere/x is not a directory \(/nowhere/x does not exist\)"):
        rg.checkout_local("app", "/nowhere/x")


def test_a_token_in_the_url_never_reaches_a_message(repo, tmp_path):
    url = "https://bot:ghp_topsecret@127.0.0.1:9/org/infra.git"
    with pytest.raises(rg.GitError) as caught:
        rg.checkout_remote(run, "app", url, None, None, repo["work"], BRANCH)
    assert "ghp_topsecret" not in str(caught.value) and "bot:" not in str(caught.value)
    assert "could not clone https://127.0.0.1:9/org/infra.git" in str(caught.value)


def test_publish_commits_only_the_given_file_on_a_new_branch_and_pushes(repo):
    found = checkout(repo)
    backend = os.path.join(found["root_path"], "backend.tf")
    with open(backend, "w") as handle:
        handle.write("new app\n")
    with open(os.path.join(found["root_path"], "notes.txt"), "w") as handle:
        handle.write("scratch\n")
    done = publish(found["root_path"], [backend], push=True, own_clone=found["clone"], version=None)
    tip = git("--git-dir", repo["bare"], "rev-parse", "refs/heads/" + BRANCH)
    assert done["changed"] and done["published"] == {"branch": BRANCH, "commit": tip, "pushed": True,
                                                     "files": [os.path.realpath(backend)], "reason": None}
    assert git("--git-dir", repo["bare"], "diff", "--name-only", "main", BRANCH) == "stacks/app/backend.tf"
    assert git("--git-dir", repo["bare"], "rev-parse", "main") == repo["main"]
    assert git("--git-dir", repo["bare"], "log", "-1", "--format=%an|%s|%b", BRANCH) == \
        "Unit|Use S3 native state locking (use_lockfile)|Changed by the tfstate.s3_backend collection for app."

    again = publish(found["root_path"], [backend], push=True, own_clone=found["clone"])
    assert not again["changed"] and again["published"] == dict(done["published"], files=[])
    assert git("--git-dir", repo["bare"], "rev-parse", "refs/heads/" + BRANCH) == tip


def test_publish_in_check_mode_commits_and_pushes_nothing(repo):
    found = checkout(repo)
    backend = os.path.join(found["root_path"], "backend.tf")
    with open(backend, "w") as handle:
        handle.write("new app\n")
    done = publish(found["root_path"], [backend], push=True, check_mode=True)
    assert done["changed"] and done["published"]["commit"] is None and done["published"]["branch"] == BRANCH
    assert done["msg"] == "Would commit stacks/app/backend.tf on %s in %s and push it." % (BRANCH, found["clone"])
    assert git("--git-dir", repo["bare"], "for-each-ref", "--format=%(refname)", "refs/heads/") == "refs/heads/main"
    assert git("rev-parse", "HEAD", cwd=found["clone"]) == repo["main"]
    assert git("status", "--porcelain", cwd=found["clone"]) == "M stacks/app/backend.tf"


def test_roots_of_one_repository_share_the_branch_by_replay(repo):
    app, net = checkout(repo, "app"), checkout(repo, "net")
    for found in (app, net):
        with open(os.path.join(found["root_path"], "backend.tf"), "w") as handle:
            handle.write("changed\n")
    first = publish(app["root_path"], [os.path.join(app["root_path"], "backend.tf")], push=True, own_clone=app["clone"])
    second = publish(net["root_path"], [os.path.join(net["root_path"], "backend.tf")], push=True, own_clone=net["clone"],
                     host="net")
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert "rebase" in git("reflog", cwd=net["clone"]) and "rebase" not in git("reflog", cwd=app["clone"])
    tip = git("--git-dir", repo["bare"], "rev-parse", "refs/heads/" + BRANCH)
    assert second["published"]["commit"] == tip
    assert git("--git-dir", repo["bare"], "rev-parse", tip + "^") == first["published"]["commit"]
    assert git("--git-dir", repo["bare"], "diff", "--name-only", "main", BRANCH).split() == \
        ["stacks/app/backend.tf", "stacks/net/backend.tf"]


def test_a_refused_push_outside_the_own_clone_fails_and_forces_nothing(repo, tmp_path):
    app = checkout(repo, "app")
    net = checkout(repo, "net")
    for found in (app, net):
        with open(os.path.join(found["root_path"], "backend.tf"), "w") as handle:
            handle.write("changed\n")
    publish(app["root_path"], [os.path.join(app["root_path"], "backend.tf")], push=True)
    tip = git("--git-dir", repo["bare"], "rev-parse", "refs/heads/" + BRANCH)
    with pytest.raises(rg.GitError, match="^net: could not push %s to origin of " % BRANCH):
        publish(net["root_path"], [os.path.join(net["root_path"], "backend.tf")], push=True, host="net")
    assert git("--git-dir", repo["bare"], "rev-parse", "refs/heads/" + BRANCH) == tip


def test_publish_refuses_the_default_branch_and_outside_files(repo):
    found = checkout(repo)
    backend = os.path.join(found["root_path"], "backend.tf")
    with pytest.raises(rg.GitError, match="^app: the work branch main is the default branch of origin"):
        publish(found["root_path"], [backend], branch="main")
    with pytest.raises(rg.GitError, match="must be absolute paths inside"):
        publish(found["root_path"], ["backend.tf"])
    with pytest.raises(rg.GitError, match="is the version checked out"):
        publish(found["root_path"], [backend], branch="release", version="release")


def test_publish_outside_git_and_with_no_identity(repo, tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    done = publish(str(plain), [str(plain / "backend.tf")])
    assert done["published"]["reason"] == "the root %s is not in a git repository" % plain and not done["changed"]

    checkout_dir = tmp_path / "checkout"
    git("clone", "--quiet", repo["bare"], str(checkout_dir))
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    (checkout_dir / "stacks" / "app" / "backend.tf").write_text("new\n")
    done = publish(str(checkout_dir / "stacks" / "app"), [str(checkout_dir / "stacks" / "app" / "backend.tf")],
                   environ={})
    assert done["published"]["pushed"] is False and done["published"]["commit"]
    assert git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=checkout_dir) == \
        "tfstate.s3_backend <tfstate@localhost>|tfstate.s3_backend <tfstate@localhost>"
    assert git("symbolic-ref", "--short", "HEAD", cwd=checkout_dir) == BRANCH


def test_committed_in_names_the_commit_only_for_tracked_unchanged_files_of_a_clean_checkout(repo, tmp_path):
    seed = repo["seed"]
    app = str(seed / "stacks" / "app")
    backend = os.path.join(app, "backend.tf")
    gitter = rg.Git(run)
    assert rg.committed_in(gitter, app, [backend]) == repo["main"]
    (seed / "stacks" / "app" / ".terraform").mkdir()  # untracked: still clean
    (seed / "stacks" / "app" / ".terraform" / "terraform.tfstate").write_text("{}")
    assert rg.committed_in(gitter, app, [backend]) == repo["main"]
    (seed / "README.md").write_text("changed\n")  # a change anywhere in the tree
    assert rg.committed_in(gitter, app, [backend]) is None
    git("checkout", "--quiet", "--", "README.md", cwd=seed)
    (seed / "stacks" / "app" / "prod.tfbackend").write_text("bucket = \"b\"\n")  # untracked file to rewrite
    assert rg.committed_in(gitter, app, [backend, os.path.join(app, "prod.tfbackend")]) is None
    git("add", "stacks/app/prod.tfbackend", cwd=seed)  # staged, not committed
    assert rg.committed_in(gitter, app, [backend]) is None
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "backend.tf").write_text("x\n")
    assert rg.committed_in(gitter, str(outside), [str(outside / "backend.tf")]) is None
    assert rg.committed_in(rg.Git(run, binary=str(tmp_path / "no-git")), app, [backend]) is None


def test_git_reads_the_credentials_from_the_helper_and_no_other(tmp_path, monkeypatch):
    config = tmp_path / "gitconfig"
    # A helper configured elsewhere is not asked: the environment's empty value clears the list first.
    config.write_text('[credential]\n\thelper = "!f() { echo username=wrong; echo password=wrong; }; f"\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    _url, env = rg.url_credentials("https://ci-bot:SECRET123@git.example.test/infra.git")
    proc = subprocess.run(["git", "credential", "fill"], input="protocol=https\nhost=git.example.test\n\n",
                          env=dict(os.environ, GIT_TERMINAL_PROMPT="0", **env), capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "username=ci-bot\n" in proc.stdout and "password=SECRET123\n" in proc.stdout


def test_a_clone_through_a_token_url_keeps_no_token_in_its_configuration(repo):
    token_url = "https://ci-bot:SECRET123@git.example.test/infra.git"
    clean_url = "https://git.example.test/infra.git"
    # git reaches the bare repository through the clean URL (the token is not needed by a local path).
    git("config", "--global", "url.%s.insteadOf" % repo["bare"], clean_url)
    found = rg.checkout_remote(run, "app", token_url, None, "stacks/app", repo["work"], BRANCH)
    config = open(os.path.join(found["clone"], ".git", "config")).read()
    assert "SECRET123" not in config and clean_url in config
    # A clone an earlier release made with the token in its origin is cleaned, not cloned again.
    git("remote", "set-url", "origin", token_url, cwd=found["clone"])
    again = rg.checkout_remote(run, "app", token_url, None, "stacks/app", repo["work"], BRANCH)
    assert again["changed"] is False
    assert "SECRET123" not in open(os.path.join(found["clone"], ".git", "config")).read()
