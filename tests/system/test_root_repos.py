"""The tfstate role's checkout and publish entry points against local bare repositories as remotes.

Everything is checked through git itself (the bare repository's refs, diffs and commits, the
clone's HEAD and status), not through what the role says it did.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.testbed.collection import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "tests", "system", "playbooks", "root_repos.yml")
BRANCH = "tfstate/s3-native-locking"
BACKEND_TF = """terraform {
  backend "s3" {
    bucket         = "acme-state"
    key            = "app/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "terraform-locks"
  }
}
"""
DUAL_TF = BACKEND_TF.replace('    dynamodb_table = "terraform-locks"\n',
                             '    dynamodb_table = "terraform-locks"\n    use_lockfile   = true\n')
LOCKFILE_TF = BACKEND_TF.replace('    dynamodb_table = "terraform-locks"\n', '    use_lockfile   = true\n')
SEED_IDENTITY = ["-c", "user.name=Seed", "-c", "user.email=seed@example.test"]


def git(*args, cwd=None):
    proc = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "git %s: %s" % (" ".join(args), proc.stderr)
    return proc.stdout.strip()


def bare_git(remote, *args):
    return git("--git-dir", str(remote), *args)


@pytest.fixture()
def git_env(tmp_path, monkeypatch):
    """A known git configuration for every git process (the tests' and the playbook's)."""
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Fleet Tester\n\temail = fleet@example.test\n[init]\n\tdefaultBranch = main\n")
    env = {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture()
def remote(tmp_path, git_env):
    """A bare repository seeded like a real one: tag v1, then a second commit on main.

    Returns a dict: path, v1 (commit of the tag), main (commit of main).
    """
    bare = tmp_path / "remotes" / "infra.git"
    seed = tmp_path / "seed"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git("clone", "--quiet", str(bare), str(seed))
    for name in ("app", "net"):
        root = seed / "stacks" / name
        root.mkdir(parents=True)
        (root / "backend.tf").write_text(BACKEND_TF.replace("app/", name + "/"))
        (root / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    (seed / "README.md").write_text("infra\n")
    git("add", "--all", cwd=seed)
    git(*SEED_IDENTITY, "commit", "--quiet", "-m", "Seed", cwd=seed)
    git("tag", "v1", cwd=seed)
    (seed / "README.md").write_text("infra, second version\n")
    git(*SEED_IDENTITY, "commit", "--quiet", "--all", "-m", "Second", cwd=seed)
    git("push", "--quiet", "origin", "main", "v1", cwd=seed)
    return {"path": bare, "v1": git("rev-parse", "v1^{commit}", cwd=seed), "main": git("rev-parse", "main", cwd=seed)}


class Fleet:
    """An inventory of roots in tmp_path, run through tests/system/playbooks/root_repos.yml."""

    def __init__(self, tmp_path, env):
        self.tmp_path = tmp_path
        self.env = env
        self.workdir = tmp_path / "work"
        self.out = tmp_path / "out"
        self.out.mkdir()
        self.inventory = tmp_path / "inventory.json"

    def write(self, hosts):
        common = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                  "tfstate_workdir": str(self.workdir), "root_test_out": str(self.out)}
        self.inventory.write_text(json.dumps({"all": {"hosts": hosts, "vars": common}}))

    def run(self, extra_vars=None, check=False, env=None, expect_rc=0):
        proc = run_playbook(PLAYBOOK, extra_vars, inventory=str(self.inventory), check=check,
                            env=dict(self.env, **(env or {})), args=("--forks", "4"))
        assert proc.returncode == expect_rc, proc.stdout[-6000:] + proc.stderr[-3000:]
        return proc

    def result(self, host):
        with open(str(self.out / ("%s.json" % host.replace("/", "_")))) as handle:
            return json.load(handle)

    def clone(self, host):
        return self.workdir / host


def recap(proc, host, count="changed"):
    """A count (changed, failed, ...) of a host in the play recap."""
    return int(re.search(r"^%s\s+:.*\b%s=(\d+)" % (re.escape(host), count), proc.stdout, re.M).group(1))


def edits(text):
    return {"root_test_edits": {"backend.tf": text}}


@pytest.fixture()
def fleet(tmp_path, git_env):
    return Fleet(tmp_path, git_env)


def test_checkout_clones_each_version_and_reruns_converge(fleet, remote, tmp_path):
    url = str(remote["path"])
    bare_git(remote["path"], "branch", "dev", remote["v1"])
    fleet.write({
        "tag": {"tfstate_repo_url": url, "tfstate_repo_version": "v1", "tfstate_repo_subdir": "stacks/app"},
        "sha": {"tfstate_repo_url": url, "tfstate_repo_version": remote["v1"], "tfstate_repo_subdir": "stacks/net/"},
        "branch": {"tfstate_repo_url": url, "tfstate_repo_version": "dev"},
        "default": {"tfstate_repo_url": url, "tfstate_repo_subdir": "stacks/app"},
        # terraform_roots names hosts after paths: the clone's folder is flattened, not nested.
        "envs/prod": {"tfstate_repo_url": url, "tfstate_repo_subdir": "stacks/net"},
    })
    fleet.run({"root_test_run_publish": False})

    expected = {"tag": (remote["v1"], "stacks/app"), "sha": (remote["v1"], "stacks/net"),
                "branch": (remote["v1"], ""), "default": (remote["main"], "stacks/app")}
    for host, (commit, subdir) in expected.items():
        clone = fleet.clone(host)
        assert git("rev-parse", "HEAD", cwd=clone) == commit, host
        assert git("status", "--porcelain", cwd=clone) == "", host
        assert fleet.result(host)["root_path"] == os.path.realpath(os.path.join(str(clone), subdir)).rstrip("/"), host
    prod = fleet.result("envs/prod")["root_path"]
    assert os.path.dirname(os.path.dirname(os.path.dirname(prod))) == os.path.realpath(str(fleet.workdir))
    assert os.path.basename(os.path.dirname(os.path.dirname(prod))).startswith("envs_prod-")
    assert git("rev-parse", "HEAD", cwd=prod) == remote["main"]

    # What an interrupted run leaves: a half-done edit, a lock of a killed git, terraform's files.
    clone = fleet.clone("tag")
    (clone / "stacks" / "app" / "backend.tf").write_text("half-written")
    (clone / ".git" / "index.lock").write_text("")
    (clone / "stacks" / "app" / ".terraform").mkdir()
    # The remote moves on: the tag stays where it was, the default branch gets a new commit.
    seed = tmp_path / "seed"
    (seed / "README.md").write_text("third\n")
    git(*SEED_IDENTITY, "commit", "--quiet", "--all", "-m", "Third", cwd=seed)
    git("push", "--quiet", "origin", "main", cwd=seed)
    third = git("rev-parse", "HEAD", cwd=seed)

    proc = fleet.run({"root_test_run_publish": False})
    assert git("status", "--porcelain", "--untracked-files=no", cwd=clone) == ""
    assert (clone / "stacks" / "app" / "backend.tf").read_text() == BACKEND_TF
    assert (clone / "stacks" / "app" / ".terraform").is_dir()  # untracked files are kept
    assert git("rev-parse", "HEAD", cwd=clone) == remote["v1"]
    assert git("rev-parse", "HEAD", cwd=fleet.clone("default")) == third
    assert not (clone / ".git" / "index.lock").exists()
    assert recap(proc, "tag") == 1  # the file reset
    assert recap(proc, "sha") == 0

    proc = fleet.run({"root_test_run_publish": False})
    for host in expected:
        assert recap(proc, host) == 0, host


def test_checkout_names_the_host_and_path_it_cannot_use(fleet, remote, tmp_path):
    home = tmp_path / "home"
    (home / "src" / "app").mkdir(parents=True)
    fleet.write({
        "local": {"tfstate_root": "~/src/app"},
        "missing": {"tfstate_root": str(tmp_path / "nowhere")},
        "nosubdir": {"tfstate_repo_url": str(remote["path"]), "tfstate_repo_subdir": "stacks/db"},
        "escape": {"tfstate_repo_url": str(remote["path"]), "tfstate_repo_subdir": "../.."},
        "noversion": {"tfstate_repo_url": str(remote["path"]), "tfstate_repo_version": "v9"},
        "nothing": {},
    })
    proc = fleet.run({"root_test_run_publish": False}, env={"HOME": str(home)}, expect_rc=2)
    assert fleet.result("local")["root_path"] == os.path.realpath(str(home / "src" / "app"))
    failed = sorted(host for host in ("local", "missing", "nosubdir", "escape", "noversion", "nothing")
                    if recap(proc, host, "failed"))
    assert failed == ["escape", "missing", "nosubdir", "nothing", "noversion"]
    output = " ".join(proc.stdout.split())  # messages may be folded over lines
    assert "missing: the root %s is not a directory (%s does not exist)" % (tmp_path / "nowhere", tmp_path / "nowhere") in output
    assert re.search(r"nosubdir: %s at [0-9a-f]{12} has no directory stacks/db" % re.escape(str(remote["path"])), output)
    assert "has no directory ../.." in output
    assert "noversion: %s has no branch, tag or commit v9" % remote["path"] in output
    assert "nothing: set tfstate_root" in output


def test_publish_pushes_a_branch_whose_only_change_is_the_file(fleet, remote):
    fleet.write({"app": {"tfstate_repo_url": str(remote["path"]), "tfstate_repo_subdir": "stacks/app"}})
    # notes.txt changes too, but is not given: it must not be committed.
    extra = {"root_test_edits": {"backend.tf": DUAL_TF, "notes.txt": "scratch\n"}, "root_test_publish": ["backend.tf"]}
    fleet.run(extra)

    branch_tip = bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH)
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]
    assert bare_git(remote["path"], "diff", "--name-only", "main", BRANCH) == "stacks/app/backend.tf"
    assert bare_git(remote["path"], "show", "%s:stacks/app/backend.tf" % BRANCH) + "\n" == DUAL_TF
    assert bare_git(remote["path"], "rev-parse", BRANCH + "^") == remote["main"]
    assert bare_git(remote["path"], "log", "-1", "--format=%an <%ae>|%s", BRANCH) == \
        "Fleet Tester <fleet@example.test>|Use S3 native state locking (use_lockfile)"
    clone = fleet.clone("app")
    published = fleet.result("app")["published"]
    assert published == {"branch": BRANCH, "commit": branch_tip, "pushed": True,
                         "files": [os.path.realpath(str(clone / "stacks" / "app" / "backend.tf"))], "reason": None}

    proc = fleet.run(extra)
    assert recap(proc, "app") == 0
    assert bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH) == branch_tip
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]
    assert fleet.result("app")["published"] == dict(published, files=[])


def test_publish_in_check_mode_commits_nothing(fleet, remote):
    fleet.write({"app": {"tfstate_repo_url": str(remote["path"]), "tfstate_repo_subdir": "stacks/app"}})
    proc = fleet.run(edits(DUAL_TF), check=True)

    clone = fleet.clone("app")
    assert bare_git(remote["path"], "for-each-ref", "--format=%(refname)", "refs/heads/") == "refs/heads/main"
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]
    assert git("rev-parse", "HEAD", cwd=clone) == remote["main"]
    assert git("branch", "--list", BRANCH, cwd=clone) == ""
    assert git("status", "--porcelain", cwd=clone) == "M stacks/app/backend.tf"
    backend = os.path.realpath(str(clone / "stacks" / "app" / "backend.tf"))
    assert "Would commit stacks/app/backend.tf on %s" % BRANCH in proc.stdout
    assert fleet.result("app")["published"] == {"branch": BRANCH, "commit": None, "pushed": False,
                                                "files": [backend], "reason": None}


def test_a_rerun_continues_the_work_branch(fleet, remote, tmp_path):
    """Killed between commit and push, cloned afresh with the branch pushed, then a second change."""
    url = str(remote["path"])
    fleet.write({"app": {"tfstate_repo_url": url, "tfstate_repo_subdir": "stacks/app"}})
    fleet.run({"root_test_run_publish": False})
    # A run killed after its commit, before its push.
    clone = fleet.clone("app")
    git("checkout", "--quiet", "-b", BRANCH, cwd=clone)
    (clone / "stacks" / "app" / "backend.tf").write_text(DUAL_TF)
    git("commit", "--quiet", "--all", "-m", "Interrupted", cwd=clone)
    interrupted = git("rev-parse", "HEAD", cwd=clone)

    fleet.run(edits(DUAL_TF))
    assert bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH) == interrupted
    assert fleet.result("app")["published"]["pushed"] is True

    # A fresh work directory (an AWX job container): the pushed branch is where the work goes on.
    shutil.rmtree(str(fleet.workdir))
    fleet.run(edits(DUAL_TF))
    assert bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH) == interrupted
    assert fleet.result("app")["published"] == {"branch": BRANCH, "commit": interrupted, "pushed": True,
                                                "files": [], "reason": None}
    assert bare_git(remote["path"], "rev-list", "main.." + BRANCH) == interrupted

    # The second stage (dual, then lockfile only) goes on top, as a fast-forward.
    fleet.run(edits(LOCKFILE_TF))
    tip = bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH)
    assert bare_git(remote["path"], "rev-list", "main.." + BRANCH).split() == [tip, interrupted]
    assert bare_git(remote["path"], "diff", "--name-only", "main", BRANCH) == "stacks/app/backend.tf"
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]

    # Once merged into the default branch, a new run starts from there again.
    seed = tmp_path / "seed"
    git("pull", "--quiet", "origin", BRANCH, cwd=seed)
    git("push", "--quiet", "origin", "main", cwd=seed)
    merged = git("rev-parse", "HEAD", cwd=seed)
    fleet.run({"root_test_run_publish": False})
    assert git("rev-parse", "HEAD", cwd=clone) == merged
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "HEAD"  # detached at the version, off the branch


def test_roots_of_one_repository_share_the_branch(fleet, remote):
    url = str(remote["path"])
    fleet.write({"app": {"tfstate_repo_url": url, "tfstate_repo_subdir": "stacks/app"},
                 "net": {"tfstate_repo_url": url, "tfstate_repo_subdir": "stacks/net"}})
    proc = fleet.run(edits("changed\n"))
    # Whichever pushed second was refused (its branch did not hold the first one's commit) and replayed:
    # exactly one clone's reflog shows a rebase.
    rebased = [host for host in ("app", "net") if "rebase" in git("reflog", cwd=fleet.clone(host))]
    assert len(rebased) == 1, proc.stdout[-4000:]
    assert bare_git(remote["path"], "diff", "--name-only", "main", BRANCH).split() == \
        ["stacks/app/backend.tf", "stacks/net/backend.tf"]
    assert len(bare_git(remote["path"], "rev-list", "main.." + BRANCH).split()) == 2
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]
    tip = bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH)
    assert tip in [fleet.result(host)["published"]["commit"] for host in ("app", "net")]

    # The rerun brings the clone that pushed first up to the shared branch, and commits nothing.
    fleet.run(edits("changed\n"))
    assert bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH) == tip
    for host in ("app", "net"):
        assert fleet.result(host)["published"] == {"branch": BRANCH, "commit": tip, "pushed": True, "files": [],
                                                   "reason": None}


def test_publish_in_a_local_checkout(fleet, remote, tmp_path, git_env):
    checkout = tmp_path / "checkout"
    git("clone", "--quiet", str(remote["path"]), str(checkout))
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "backend.tf").write_text(BACKEND_TF)
    (checkout / "README.md").write_text("an edit of the user's, not to be committed\n")
    root = str(checkout / "stacks" / "app")
    fleet.write({"off": {"tfstate_root": root},
                 "plain": {"tfstate_root": str(plain), "tfstate_git_commit": True}})
    fleet.run(edits(DUAL_TF))
    assert fleet.result("off")["published"]["reason"] == "tfstate_git_commit is false"
    assert git("rev-parse", "HEAD", cwd=checkout) == remote["main"]
    assert "not in a git repository" in fleet.result("plain")["published"]["reason"]

    # No identity configured: the commit carries the collection's default one.
    empty_config = tmp_path / "empty-gitconfig"
    empty_config.write_text("")
    fleet.write({"app": {"tfstate_root": root, "tfstate_git_commit": True}})
    fleet.run(edits(DUAL_TF), env={"GIT_CONFIG_GLOBAL": str(empty_config)})
    assert git("symbolic-ref", "--short", "HEAD", cwd=checkout) == BRANCH
    assert git("log", "-1", "--format=%an <%ae>|%cn <%ce>", cwd=checkout) == \
        "tfstate.s3_backend <tfstate@localhost>|tfstate.s3_backend <tfstate@localhost>"
    assert git("diff", "--name-only", "main", BRANCH, cwd=checkout) == "stacks/app/backend.tf"
    assert git("status", "--porcelain", cwd=checkout) == "M README.md"
    assert bare_git(remote["path"], "for-each-ref", "--format=%(refname)", "refs/heads/") == "refs/heads/main"
    committed = git("rev-parse", "HEAD", cwd=checkout)
    assert fleet.result("app")["published"]["pushed"] is False

    fleet.write({"app": {"tfstate_root": root, "tfstate_git_commit": True, "tfstate_git_push": True}})
    fleet.run(edits(DUAL_TF))
    assert bare_git(remote["path"], "rev-parse", "refs/heads/" + BRANCH) == committed
    assert bare_git(remote["path"], "rev-parse", "refs/heads/main") == remote["main"]
    assert fleet.result("app")["published"] == {"branch": BRANCH, "commit": committed, "pushed": True,
                                                "files": [], "reason": None}

    # The default branch is refused as the work branch.
    git("checkout", "--quiet", "main", cwd=checkout)
    fleet.write({"app": {"tfstate_root": root, "tfstate_git_commit": True, "tfstate_git_branch": "main"}})
    proc = fleet.run(edits(LOCKFILE_TF), expect_rc=2)
    assert "app: the work branch main is the default branch of origin" in " ".join(proc.stdout.split())
    assert git("rev-parse", "main", cwd=checkout) == remote["main"]
