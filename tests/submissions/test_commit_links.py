"""Iterations link to their commit on the learner's forge, and never anywhere else."""

import pytest

from submissions.commit_links import commit_url, compare_url, parse_repo

SHA = "0123456789abcdef0123456789abcdef01234567"
OLD = "89abcde"


@pytest.mark.parametrize(
    ("repo_url", "expected"),
    [
        # GitHub: https, ssh (scp-like and ssh://), .git, extra segments, case, www.
        ("https://github.com/ada/lab-1", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("https://github.com/ada/lab-1.git", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("https://github.com/ada/lab-1/", f"https://github.com/ada/lab-1/commit/{SHA}"),
        (
            "https://github.com/ada/lab-1/tree/main/src",
            f"https://github.com/ada/lab-1/commit/{SHA}",
        ),
        ("https://GitHub.COM/Ada/Lab-1", f"https://github.com/Ada/Lab-1/commit/{SHA}"),
        ("https://www.github.com/ada/lab-1", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("https://github.com:443/ada/lab-1", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("http://github.com/ada/lab-1", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("git@github.com:ada/lab-1.git", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("ssh://git@github.com/ada/lab-1.git", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("ssh://git@github.com:22/ada/lab-1.git", f"https://github.com/ada/lab-1/commit/{SHA}"),
        ("  https://github.com/ada/lab-1  ", f"https://github.com/ada/lab-1/commit/{SHA}"),
        # GitLab: nested groups, /-/ pages, ssh.
        ("https://gitlab.com/ada/lab-1", f"https://gitlab.com/ada/lab-1/-/commit/{SHA}"),
        (
            "https://gitlab.com/school/2026/ada/lab-1.git",
            f"https://gitlab.com/school/2026/ada/lab-1/-/commit/{SHA}",
        ),
        (
            "https://gitlab.com/school/ada/lab-1/-/tree/main",
            f"https://gitlab.com/school/ada/lab-1/-/commit/{SHA}",
        ),
        (
            "git@gitlab.com:school/ada/lab-1.git",
            f"https://gitlab.com/school/ada/lab-1/-/commit/{SHA}",
        ),
        # Gitea / Codeberg.
        ("https://codeberg.org/ada/lab-1", f"https://codeberg.org/ada/lab-1/commit/{SHA}"),
        ("git@codeberg.org:ada/lab-1.git", f"https://codeberg.org/ada/lab-1/commit/{SHA}"),
        (
            "https://gitea.com/ada/lab-1/src/branch/main",
            f"https://gitea.com/ada/lab-1/commit/{SHA}",
        ),
        # Bitbucket: /commits/.
        ("https://bitbucket.org/ada/lab-1", f"https://bitbucket.org/ada/lab-1/commits/{SHA}"),
        ("git@bitbucket.org:ada/lab-1.git", f"https://bitbucket.org/ada/lab-1/commits/{SHA}"),
        (
            "https://bitbucket.org/ada/lab-1/src/main/",
            f"https://bitbucket.org/ada/lab-1/commits/{SHA}",
        ),
    ],
)
def test_commit_links_on_known_forges(repo_url, expected):
    assert commit_url(repo_url, SHA) == expected
    assert commit_url(repo_url, SHA.upper()) == expected


@pytest.mark.parametrize(
    "repo_url",
    [
        "",
        None,
        "https://example.com/ada/lab-1",
        "https://github.com.evil.test/ada/lab-1",
        "https://evilgithub.com/ada/lab-1",
        "https://github.com@evil.test/ada/lab-1",  # userinfo trick: the host is evil.test
        "https://evil.test@github.com/ada/lab-1",  # credentials-looking userinfo: refused
        "https://user:token@github.com/ada/lab-1",
        "javascript:alert(1)",
        "javascript://github.com/%0aalert(1)",
        "data:text/html,github.com/a/b",
        "ftp://github.com/ada/lab-1",
        "file:///github.com/ada/lab-1",
        "https://github.com/ada",  # no repository
        "https://github.com/",
        "https://github.com/../../evil",
        "https://github.com/ada/lab-1%2F..%2F..",
        "https://github.com/ada/<script>",
        'https://github.com/ada/lab"onmouseover="x',
        "https://github.com/ada/lab 1",
        "https://github.com/ada/lab-1\n.evil.test",
        "https://github.com:notaport/ada/lab-1",
        "https://github.com/ada/lab-1?x=1",
        "https://github.com/ada/lab-1#frag",
        "git@evil.test:ada/lab-1.git",
        "git@github.com.evil.test:ada/lab-1.git",
        "https://selfhosted.gitlab.example/ada/lab-1",  # not configured
        "//github.com/ada/lab-1",
        "https://github.com\\@evil.test/ada/lab-1",
        "https://github.com\\evil.test/ada/lab-1",
        "https://g\u0456thub.com/ada/lab-1",  # Cyrillic i: a look-alike host
        "https://github.com%2eevil.test/ada/lab-1",
        "https://github.com./../ada/lab-1",
        "git@github.com:ada/lab-1.git:extra",
        "https://github.com/-ada/lab-1",
    ],
)
def test_no_link_for_unknown_or_hostile_urls(repo_url):
    assert parse_repo(repo_url) is None
    assert commit_url(repo_url, SHA) is None


@pytest.mark.parametrize(
    "sha",
    [
        "",
        None,
        "abc123",
        "g123456",
        "0123456789abcdef0123456789abcdef012345678",
        "abc 1234",
        "abc1234/../x",
    ],
)
def test_no_link_for_a_malformed_commit(sha):
    assert commit_url("https://github.com/ada/lab-1", sha) is None


@pytest.mark.parametrize(
    ("repo_url", "expected"),
    [
        ("https://github.com/ada/lab-1", f"https://github.com/ada/lab-1/compare/{OLD}...{SHA}"),
        (
            "https://gitlab.com/g/ada/lab-1",
            f"https://gitlab.com/g/ada/lab-1/-/compare/{OLD}...{SHA}",
        ),
        ("https://codeberg.org/ada/lab-1", f"https://codeberg.org/ada/lab-1/compare/{OLD}...{SHA}"),
        (
            "https://bitbucket.org/ada/lab-1",
            f"https://bitbucket.org/ada/lab-1/branches/compare/{SHA}%0D{OLD}",
        ),
    ],
)
def test_compare_links_from_the_previous_commit(repo_url, expected):
    assert compare_url(repo_url, SHA, repo_url, OLD) == expected


def test_compare_needs_the_same_repository_and_two_different_commits():
    repo = "https://github.com/ada/lab-1"
    # The same repository written another way still compares.
    assert compare_url(repo, SHA, "git@github.com:ada/lab-1.git", OLD) is not None
    assert compare_url(repo, SHA, "https://github.com/ada/lab-2", OLD) is None
    assert compare_url(repo, SHA, repo, SHA) is None
    assert compare_url(repo, SHA, repo, "") is None
    assert compare_url(repo, SHA, repo, "nothex!") is None
    assert (
        compare_url("https://example.com/ada/lab-1", SHA, "https://example.com/ada/lab-1", OLD)
        is None
    )


def test_self_hosted_forges_only_when_configured(settings):
    url = "https://git.school.example:8443/ada/lab-1"
    assert commit_url(url, SHA) is None
    settings.COMMIT_LINK_GITLAB_HOSTS = ["Git.School.example"]
    assert commit_url(url, SHA) == f"https://git.school.example:8443/ada/lab-1/-/commit/{SHA}"
    # The ssh port is not the web port.
    assert (
        commit_url("ssh://git@git.school.example:2222/ada/lab-1.git", SHA)
        == f"https://git.school.example/ada/lab-1/-/commit/{SHA}"
    )
    settings.COMMIT_LINK_GITLAB_HOSTS = []
    settings.COMMIT_LINK_GITEA_HOSTS = ["gitea.school.example"]
    assert (
        commit_url("https://gitea.school.example/ada/lab-1", SHA)
        == f"https://gitea.school.example/ada/lab-1/commit/{SHA}"
    )
    assert commit_url("https://gitea.school.example.evil.test/ada/lab-1", SHA) is None
