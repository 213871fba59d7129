"""Links from an iteration to its commit (and to a compare view against the previous one).

A learner's repository URL is free text, so it is parsed strictly: only the forges we know
(GitHub, GitLab, Gitea/Codeberg, Bitbucket; self-hosted GitLab and Gitea hosts named in
``COMMIT_LINK_GITLAB_HOSTS`` / ``COMMIT_LINK_GITEA_HOSTS``) get a link, and the link is
rebuilt from the parsed parts (``https://<known host>/<owner>/<repo>/...``), never from the
text the learner typed. Anything else (unknown or look-alike hosts, credentials in an https
URL, odd characters, a commit that is not 7-40 hex digits) gives no link.

URL shapes per forge (checked against each forge's web UI):
- GitHub:    /{owner}/{repo}/commit/{sha}        /{owner}/{repo}/compare/{old}...{new}
- GitLab:    /{group/...}/{repo}/-/commit/{sha}  /{group/...}/{repo}/-/compare/{old}...{new}
- Gitea:     /{owner}/{repo}/commit/{sha}        /{owner}/{repo}/compare/{old}...{new}
- Bitbucket: /{workspace}/{repo}/commits/{sha}   /{workspace}/{repo}/branches/compare/{new}%0D{old}
"""

import dataclasses
import re
from urllib.parse import quote, urlsplit

from django.conf import settings

GITHUB, GITLAB, GITEA, BITBUCKET = "github", "gitlab", "gitea", "bitbucket"

PUBLIC_HOSTS = {
    "github.com": GITHUB,
    "gitlab.com": GITLAB,
    "codeberg.org": GITEA,
    "gitea.com": GITEA,
    "bitbucket.org": BITBUCKET,
}

COMMIT_RE = re.compile(r"[0-9a-fA-F]{7,40}")
SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
HOST_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")
# git@host:owner/repo.git (scp-like, what "Clone with SSH" shows)
SCP_RE = re.compile(r"(?:[A-Za-z0-9_.+-]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^:]+)")


@dataclasses.dataclass(frozen=True)
class Repo:
    forge: str
    base: str  # https://host[:port]/owner/repo, every part checked

    def commit_url(self, sha: str) -> str | None:
        sha = clean_commit(sha)
        if sha is None:
            return None
        if self.forge == GITLAB:
            return f"{self.base}/-/commit/{sha}"
        if self.forge == BITBUCKET:
            return f"{self.base}/commits/{sha}"
        return f"{self.base}/commit/{sha}"

    def compare_url(self, old: str, new: str) -> str | None:
        old, new = clean_commit(old), clean_commit(new)
        if old is None or new is None or old == new:
            return None
        if self.forge == GITLAB:
            return f"{self.base}/-/compare/{old}...{new}"
        if self.forge == BITBUCKET:
            # Bitbucket compares "source%0Ddestination": what the new commit adds to the old.
            return f"{self.base}/branches/compare/{new}%0D{old}"
        return f"{self.base}/compare/{old}...{new}"


def clean_commit(sha: str | None) -> str | None:
    sha = (sha or "").strip()
    return sha.lower() if COMMIT_RE.fullmatch(sha) else None


def _forge_of(host: str) -> str | None:
    if host in PUBLIC_HOSTS:
        return PUBLIC_HOSTS[host]
    gitlab = {h.strip().lower().rstrip(".") for h in settings.COMMIT_LINK_GITLAB_HOSTS}
    if host in gitlab:
        return GITLAB
    gitea = {h.strip().lower().rstrip(".") for h in settings.COMMIT_LINK_GITEA_HOSTS}
    if host in gitea:
        return GITEA
    return None


def _split(url: str) -> tuple[str, int | None, str] | None:
    """(host, web port or None, path) of an https/http/ssh/scp-like repository URL."""
    if "://" in url:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme in {"https", "http"}:
            if parts.username is not None or parts.password is not None:
                return None  # credentials or "github.com@evil.test" tricks: no link
            web_port = port if port not in {None, 80, 443} else None
        elif scheme in {"ssh", "git+ssh"}:
            web_port = None  # an ssh port says nothing about the web server
        else:
            return None
        if parts.query or parts.fragment:
            return None
        return (parts.hostname or "", web_port, parts.path)
    match = SCP_RE.fullmatch(url)
    if match is None:
        return None
    return (match["host"], None, "/" + match["path"].lstrip("/"))


def parse_repo(url: str | None) -> Repo | None:
    """The forge repository ``url`` points at, or None when it is not one we can link to."""
    url = (url or "").strip()
    if not url or len(url) > 500 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    split = _split(url)
    if split is None:
        return None
    host, port, path = split
    host = host.lower().rstrip(".")
    if host.startswith("www.") and host[4:] in PUBLIC_HOSTS:
        host = host[4:]
    if not HOST_RE.fullmatch(host):
        return None
    forge = _forge_of(host)
    if forge is None:
        return None
    segments = [s for s in path.split("/") if s]
    if forge == GITLAB:
        # Groups nest; "/-/" starts GitLab's own pages (tree, merge_requests, ...).
        if "-" in segments:
            segments = segments[: segments.index("-")]
    else:
        segments = segments[:2]  # extra segments: /tree/main, /pull/3, /src/...
    if len(segments) < 2:
        return None
    if segments[-1].lower().endswith(".git"):
        segments[-1] = segments[-1][:-4]
    if not all(SEGMENT_RE.fullmatch(s) and s not in {".", ".."} for s in segments):
        return None
    netloc = host if port is None else f"{host}:{port}"
    return Repo(forge=forge, base=f"https://{netloc}/" + "/".join(quote(s) for s in segments))


def commit_url(repo_url: str | None, sha: str | None) -> str | None:
    repo = parse_repo(repo_url)
    return repo.commit_url(sha) if repo and sha else None


def compare_url(
    repo_url: str | None, sha: str | None, previous_repo_url: str | None, previous_sha: str | None
) -> str | None:
    """Compare view from the previous iteration's commit, when both are in the same repo."""
    repo, previous = parse_repo(repo_url), parse_repo(previous_repo_url)
    if repo is None or previous is None or repo.base.lower() != previous.base.lower():
        return None
    return repo.compare_url(previous_sha or "", sha or "")


def attach_commit_links(iterations) -> None:
    """Set ``commit_url`` and ``compare_url`` on each iteration of one submission (any order)."""
    by_number = {it.number: it for it in iterations}
    for iteration in iterations:
        iteration.commit_url = commit_url(iteration.repo_url, iteration.commit_sha)
        previous = by_number.get(iteration.number - 1)
        iteration.compare_url = (
            compare_url(
                iteration.repo_url, iteration.commit_sha, previous.repo_url, previous.commit_sha
            )
            if previous is not None
            else None
        )
