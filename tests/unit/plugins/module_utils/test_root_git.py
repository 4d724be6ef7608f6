"""root_git: the pure decisions (checkout and publish with real git: tests/system/test_root_git.py)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils import root_git as rg
from ansible_collections.tfstate.s3_backend.plugins.module_utils.redact import redact_url

BRANCH = "tfstate/s3-native-locking"


# ---------------------------------------------------------------------------
# Pure decisions

def test_git_messages_are_redacted_by_the_one_redaction():
    """git's messages keep a token given in the URL's query; root_git redacts with module_utils/redact.py."""
    text = "fatal: unable to access 'https://127.0.0.1:9/net.git?private_token=SECRET&ref=main/': refused"
    assert rg.scrub_userinfo(text) == redact_url(text)
    assert "SECRET" not in rg.scrub_userinfo(text) and rg.scrub_userinfo(None) == ""


def test_scrub_userinfo_cleans_every_url_in_a_text():
    text = "fatal: unable to access 'https://bot:s3cr3t@host/a.git/': 403; see https://x:y@h/b"
    assert rg.scrub_userinfo(text) == "fatal: unable to access 'https://host/a.git/': 403; see https://h/b"
    assert "s3cr3t" not in rg.scrub_userinfo(text)


def test_clone_name_flattens_path_like_hosts_apart():
    assert rg.clone_name("app-1.prod") == "app-1.prod"
    flat = rg.clone_name("envs/prod")
    assert flat.startswith("envs_prod-") and len(flat) == len("envs_prod-") + 8
    assert rg.clone_name("envs_prod") == "envs_prod"
    assert rg.clone_name("envs:prod") != flat  # same flattening, another hash
    assert rg.clone_name("..") not in ("..", ".")
    assert "/" not in rg.clone_name("../../etc")


def test_pick_work_tip():
    assert rg.pick_work_tip(None, None, False) is None
    assert rg.pick_work_tip("L", None, False) == "L"  # committed, never pushed
    assert rg.pick_work_tip(None, "R", False) == "R"  # a fresh work directory
    assert rg.pick_work_tip("L", "R", True) == "L"  # killed between commit and push
    assert rg.pick_work_tip("L", "R", False) == "R"  # the pushed branch is the truth


def test_work_checkout_continues_an_unmerged_branch_only():
    assert rg.work_checkout("B", None, False, BRANCH) == ("B", None)
    assert rg.work_checkout("B", "T", False, BRANCH) == ("T", BRANCH)
    assert rg.work_checkout("B", "T", True, BRANCH) == ("B", None)


def test_checkout_needed_reads_porcelain_v2():
    status = rg.parse_status_v2("# branch.oid abc\n# branch.head (detached)\n")
    assert status == {"oid": "abc", "head": "(detached)", "changes": []}
    assert not rg.checkout_needed(status, "abc", None)
    assert rg.checkout_needed(status, "abd", None)
    assert rg.checkout_needed(status, "abc", BRANCH)
    dirty = rg.parse_status_v2("# branch.oid abc\n# branch.head %s\n1 .M N... 100644 100644 100644 a b f.tf\n" % BRANCH)
    assert rg.checkout_needed(dirty, "abc", BRANCH)
    assert not rg.checkout_needed(dict(dirty, changes=[]), "abc", BRANCH)
    assert rg.checkout_argv("abc", None) == ["checkout", "--quiet", "--force", "--detach", "abc"]
    assert rg.checkout_argv("abc", BRANCH) == ["checkout", "--quiet", "--force", "-B", BRANCH, "abc"]


def test_relative_files_refuses_relative_and_outside_paths(tmp_path):
    top = str(tmp_path)
    assert rg.relative_files([top + "/a/b.tf", top + "/c.tf"], top) == (["a/b.tf", "c.tf"], [])
    assert rg.relative_files(["b.tf", top + "/../x.tf", top], top) == (None, ["b.tf", top + "/../x.tf", top])
    assert rg.relative_files([], top) == ([], [])


def test_branch_refusal():
    assert rg.branch_refusal(BRANCH, True, "main", "v1") is None
    assert "is not a valid branch name" in rg.branch_refusal("a..b", False, "main", None)
    assert rg.branch_refusal("main", True, "main", None).startswith("the work branch main is the default branch of origin")
    assert "is the version checked out" in rg.branch_refusal("release", True, "main", "release")
    assert rg.branch_refusal("main", True, "", None) is None  # no origin: nothing to compare with


def test_pending_files_takes_only_the_given_files_in_git_order():
    status = "\0".join([" M a.tf", "?? notes.txt", "R  new.tf", "old.tf", "M  b.tf", ""])
    assert rg.pending_files(status, ["b.tf", "a.tf", "old.tf", "c.tf"]) == ["a.tf", "b.tf"]
    assert rg.pending_files(status, ["new.tf"]) == ["new.tf"]
    assert rg.pending_files("", ["a.tf"]) == []


def test_commit_identity_falls_back_to_the_environment_then_the_collection():
    configured = "user.name Fleet Tester\nuser.email fleet@example.test\n"
    assert rg.commit_identity(configured, {"GIT_AUTHOR_NAME": "x"}) == {}
    half = rg.commit_identity("user.name Fleet Tester\n", {"GIT_AUTHOR_NAME": "Env Author", "GIT_COMMITTER_EMAIL": "c@x"})
    assert half == {"GIT_AUTHOR_NAME": "Env Author", "GIT_AUTHOR_EMAIL": "tfstate@localhost",
                    "GIT_COMMITTER_NAME": "tfstate.s3_backend", "GIT_COMMITTER_EMAIL": "c@x"}
    assert rg.commit_identity("", {})["GIT_COMMITTER_NAME"] == "tfstate.s3_backend"


def test_switch_argv_starts_or_continues_the_branch():
    assert rg.switch_argv(BRANCH, False, False) == ["checkout", "--quiet", "-B", BRANCH]
    assert rg.switch_argv(BRANCH, True, True) == ["checkout", "--quiet", "-B", BRANCH]
    assert rg.switch_argv(BRANCH, True, False) == ["checkout", "--quiet", BRANCH]


def test_already_pushed():
    assert not rg.already_pushed("", "H", True)
    assert rg.already_pushed("H", "H", False)
    assert rg.already_pushed("R", "H", True)
    assert not rg.already_pushed("R", "H", False)


def test_published_view():
    done = rg.published_view(BRANCH, True, "H", ["s/b.tf"], "/top", ["/top/s/b.tf"], True, False)
    assert done == {"branch": BRANCH, "commit": "H", "pushed": True, "files": ["/top/s/b.tf"], "reason": None}
    preview = rg.published_view(BRANCH, False, "H", ["s/b.tf"], "/top", ["/top/s/b.tf"], False, True)
    assert preview == {"branch": BRANCH, "commit": None, "pushed": False, "files": ["/top/s/b.tf"], "reason": None}
    nothing = rg.published_view(BRANCH, False, "H", [], "/top", ["/top/s/b.tf"], False, False)
    assert nothing["branch"] is None and nothing["reason"] == "nothing to commit: /top/s/b.tf unchanged"
    assert rg.published_view(BRANCH, False, "H", [], "/top", [], False, False)["reason"] == \
        "nothing to commit: no files given unchanged"


def test_url_credentials_moves_the_userinfo_of_http_urls_into_the_environment():
    url, env = rg.url_credentials("https://ci-bot:tok%40en@git.example.test/platform/infra.git")
    assert url == "https://git.example.test/platform/infra.git"
    assert env["TFSTATE_GIT_USERNAME"] == "ci-bot" and env["TFSTATE_GIT_PASSWORD"] == "tok@en"
    assert rg.url_credentials("https://ghp_token@github.com/o/r.git")[1]["TFSTATE_GIT_PASSWORD"] == ""
    for plain in ("https://github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@host/r.git", "/srv/r.git"):
        assert rg.url_credentials(plain) == (plain, {})
