"""GitHub's JSON shapes for the fake server, built from its in-memory state.

The key sets follow the newest recordings in ../shared/fixtures/github/replay
(PyGithub's own recorded exchanges with api.github.com); test_fake_github.py
checks every shape served here against them. Endpoints that are not recorded
(branches, compare, statuses list, apps) follow GitHub's REST documentation.

Every API URL points back at the fake (`api`), so PyGithub can follow it;
web URLs point at github.com, as GitHub's do, and are never fetched.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"
REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def tree_sha(sha: str) -> str:
    return hashlib.sha1(f"tree {sha}".encode()).hexdigest()


def user(api: str, login: str, uid: int, kind: str = "User") -> dict[str, Any]:
    u = f"{api}/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": node_id(kind, uid),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def authenticated_user(api: str, login: str, uid: int, created_at: str) -> dict[str, Any]:
    """GET /user: the public profile plus the fields only its owner sees."""
    return {
        **user(api, login, uid),
        "name": login,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "notification_email": None,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }


def repository(
    api: str, repo, owner: dict, *, open_issues: int, permissions: dict | None, parent: dict | None = None
) -> dict:
    """GET /repos/{owner}/{repo}. `repo` is the fake's Repo record."""
    full = repo.full_name
    u = f"{api}/repos/{full}"
    shape = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": full.split("/")[1],
        "full_name": full,
        "private": False,
        "owner": owner,
        "html_url": f"{WEB}/{full}",
        "description": repo.description,
        "fork": parent is not None,
        "url": u,
        "forks_url": f"{u}/forks",
        "keys_url": f"{u}/keys{{/key_id}}",
        "collaborators_url": f"{u}/collaborators{{/collaborator}}",
        "teams_url": f"{u}/teams",
        "hooks_url": f"{u}/hooks",
        "issue_events_url": f"{u}/issues/events{{/number}}",
        "events_url": f"{u}/events",
        "assignees_url": f"{u}/assignees{{/user}}",
        "branches_url": f"{u}/branches{{/branch}}",
        "tags_url": f"{u}/tags",
        "blobs_url": f"{u}/git/blobs{{/sha}}",
        "git_tags_url": f"{u}/git/tags{{/sha}}",
        "git_refs_url": f"{u}/git/refs{{/sha}}",
        "trees_url": f"{u}/git/trees{{/sha}}",
        "statuses_url": f"{u}/statuses/{{sha}}",
        "languages_url": f"{u}/languages",
        "stargazers_url": f"{u}/stargazers",
        "contributors_url": f"{u}/contributors",
        "subscribers_url": f"{u}/subscribers",
        "subscription_url": f"{u}/subscription",
        "commits_url": f"{u}/commits{{/sha}}",
        "git_commits_url": f"{u}/git/commits{{/sha}}",
        "comments_url": f"{u}/comments{{/number}}",
        "issue_comment_url": f"{u}/issues/comments{{/number}}",
        "contents_url": f"{u}/contents/{{+path}}",
        "compare_url": f"{u}/compare/{{base}}...{{head}}",
        "merges_url": f"{u}/merges",
        "archive_url": f"{u}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{u}/downloads",
        "issues_url": f"{u}/issues{{/number}}",
        "pulls_url": f"{u}/pulls{{/number}}",
        "milestones_url": f"{u}/milestones{{/number}}",
        "notifications_url": f"{u}/notifications{{?since,all,participating}}",
        "labels_url": f"{u}/labels{{/name}}",
        "releases_url": f"{u}/releases{{/id}}",
        "deployments_url": f"{u}/deployments",
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
        "pushed_at": repo.pushed_at,
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"{WEB}/{full}.git",
        "svn_url": f"{WEB}/{full}",
        "homepage": None,
        "size": 1024,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_issues,
        "license": {
            "key": "apache-2.0",
            "name": "Apache License 2.0",
            "spdx_id": "Apache-2.0",
            "url": f"{api}/licenses/apache-2.0",
            "node_id": "MDc6TGljZW5zZTI=",
        },
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "public",
        "forks": 0,
        "open_issues": open_issues,
        "watchers": 0,
        "default_branch": repo.default_branch,
        "temp_clone_token": "",
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_rebase_merge": True,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "allow_update_branch": False,
        "use_squash_pr_title_as_default": False,
        "squash_merge_commit_message": "COMMIT_MESSAGES",
        "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
        "merge_commit_message": "PR_TITLE",
        "merge_commit_title": "MERGE_MESSAGE",
        "custom_properties": {},
        "security_and_analysis": {
            "secret_scanning": {"status": "disabled"},
            "secret_scanning_push_protection": {"status": "disabled"},
            "dependabot_security_updates": {"status": "disabled"},
            "secret_scanning_non_provider_patterns": {"status": "disabled"},
            "secret_scanning_validity_checks": {"status": "disabled"},
        },
        "network_count": 0,
        "subscribers_count": 0,
    }
    if permissions is not None:
        shape["permissions"] = permissions
    if owner["type"] == "Organization":
        shape["organization"] = owner
    if parent is not None:
        shape["parent"] = parent
        shape["source"] = parent
    return shape


def repo_permissions(role: str) -> dict[str, bool]:
    """The `permissions` object of a repository as the caller with `role` sees it."""
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role in order else -1
    return {"admin": rank >= 4, "maintain": rank >= 3, "push": rank >= 2, "triage": rank >= 1, "pull": rank >= 0}


def git_commit(api: str, full: str, commit, author: dict) -> dict:
    """One entry of a commits list (GET /pulls/{n}/commits), without files and stats."""
    u = f"{api}/repos/{full}/commits/{commit.sha}"
    person = {"name": commit.author, "email": f"{commit.author}@users.noreply.github.com", "date": commit.date}
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", int(commit.sha[:7], 16)),
        "commit": {
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": tree_sha(commit.sha), "url": f"{api}/repos/{full}/git/trees/{tree_sha(commit.sha)}"},
            "url": f"{api}/repos/{full}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": u,
        "html_url": f"{WEB}/{full}/commit/{commit.sha}",
        "comments_url": f"{u}/comments",
        "author": author,
        "committer": author,
        "parents": [
            {"sha": p, "url": f"{api}/repos/{full}/commits/{p}", "html_url": f"{WEB}/{full}/commit/{p}"}
            for p in commit.parents
        ],
    }


def full_commit(api: str, full: str, commit, author: dict) -> dict:
    """GET /repos/{o}/{r}/commits/{ref}."""
    return {
        **git_commit(api, full, commit, author),
        "stats": {"total": 1, "additions": 1, "deletions": 0},
        "files": [
            {
                "sha": tree_sha(commit.sha + "f"),
                "filename": "README.md",
                "status": "modified",
                "additions": 1,
                "deletions": 0,
                "changes": 1,
                "blob_url": f"{WEB}/{full}/blob/{commit.sha}/README.md",
                "raw_url": f"{WEB}/{full}/raw/{commit.sha}/README.md",
                "contents_url": f"{api}/repos/{full}/contents/README.md?ref={commit.sha}",
                "patch": "@@ -1 +1 @@\n-old\n+new",
            }
        ],
    }


def branch(api: str, full: str, name: str, commit: dict) -> dict:
    u = f"{api}/repos/{full}/branches/{name}"
    return {
        "name": name,
        "commit": commit,
        "_links": {"self": u, "html": f"{WEB}/{full}/tree/{name}"},
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{u}/protection",
    }


def comparison(
    api: str, full: str, base: str, head: str, base_commit: dict, merge_base: dict, commits: list[dict], behind_by: int
) -> dict:
    ahead_by = len(commits)
    status = (
        "identical"
        if not ahead_by and not behind_by
        else "ahead"
        if not behind_by
        else "behind"
        if not ahead_by
        else "diverged"
    )
    return {
        "url": f"{api}/repos/{full}/compare/{base}...{head}",
        "html_url": f"{WEB}/{full}/compare/{base}...{head}",
        "permalink_url": f"{WEB}/{full}/compare/{base_commit['sha'][:7]}...{head[:7]}",
        "diff_url": f"{WEB}/{full}/compare/{base}...{head}.diff",
        "patch_url": f"{WEB}/{full}/compare/{base}...{head}.patch",
        "base_commit": base_commit,
        "merge_base_commit": merge_base,
        "status": status,
        "ahead_by": ahead_by,
        "behind_by": behind_by,
        "total_commits": ahead_by,
        "commits": commits,
        "files": [],
    }


def pull_request(api: str, pull, *, author: dict, head: dict, base: dict, detail: bool, merged_by: dict | None) -> dict:
    """GET /repos/{o}/{r}/pulls/{n} (detail) or one entry of GET /pulls (not detail)."""
    full, n = pull.repo, pull.number
    u = f"{api}/repos/{full}"
    shape = {
        "url": f"{u}/pulls/{n}",
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": f"{WEB}/{full}/pull/{n}",
        "diff_url": f"{WEB}/{full}/pull/{n}.diff",
        "patch_url": f"{WEB}/{full}/pull/{n}.patch",
        "issue_url": f"{u}/issues/{n}",
        "number": n,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": author,
        "body": pull.body,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": pull.closed_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "milestone": None,
        "draft": pull.draft,
        "commits_url": f"{u}/pulls/{n}/commits",
        "review_comments_url": f"{u}/pulls/{n}/comments",
        "review_comment_url": f"{u}/pulls/comments{{/number}}",
        "comments_url": f"{u}/issues/{n}/comments",
        "statuses_url": f"{u}/statuses/{pull.head_sha}",
        "head": head,
        "base": base,
        "_links": {
            "self": {"href": f"{u}/pulls/{n}"},
            "html": {"href": f"{WEB}/{full}/pull/{n}"},
            "issue": {"href": f"{u}/issues/{n}"},
            "comments": {"href": f"{u}/issues/{n}/comments"},
            "review_comments": {"href": f"{u}/pulls/{n}/comments"},
            "review_comment": {"href": f"{u}/pulls/comments{{/number}}"},
            "commits": {"href": f"{u}/pulls/{n}/commits"},
            "statuses": {"href": f"{u}/statuses/{pull.head_sha}"},
        },
        "author_association": pull.author_association,
        "auto_merge": None,
        "active_lock_reason": None,
    }
    if detail:
        shape.update(
            {
                "merged": pull.merged,
                "mergeable": True if pull.state == "open" else None,
                "rebaseable": True,
                "mergeable_state": "clean" if pull.state == "open" else "unknown",
                "merged_by": merged_by,
                "comments": pull.comment_count,
                "review_comments": 0,
                "maintainer_can_modify": pull.fork is not None,
                "commits": len(pull.commits),
                "additions": len(pull.commits),
                "deletions": 0,
                "changed_files": 1,
            }
        )
    return shape


def pull_end(label_owner: str, ref: str, sha: str, owner: dict | None, repo: dict | None) -> dict:
    """The head or base of a pull request."""
    return {"label": f"{label_owner}:{ref}" if owner else None, "ref": ref, "sha": sha, "user": owner, "repo": repo}


def reactions_summary(api: str, full: str, comment) -> dict:
    counts = {name: sum(1 for r in comment.reactions if r["content"] == name) for name in REACTIONS}
    return {
        "url": f"{api}/repos/{full}/issues/comments/{comment.id}/reactions",
        "total_count": len(comment.reactions),
        **counts,
    }


def issue_comment(api: str, comment, author: dict) -> dict:
    full = comment.repo
    return {
        "url": f"{api}/repos/{full}/issues/comments/{comment.id}",
        "html_url": f"{WEB}/{full}/pull/{comment.number}#issuecomment-{comment.id}",
        "issue_url": f"{api}/repos/{full}/issues/{comment.number}",
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "user": author,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": comment.author_association,
        "body": comment.body,
        "reactions": reactions_summary(api, full, comment),
        "performed_via_github_app": None,
    }


def issue(api: str, pull, author: dict, comments: int) -> dict:
    """GET /repos/{o}/{r}/issues/{n} of a pull request (every PR is also an issue)."""
    full, n = pull.repo, pull.number
    u = f"{api}/repos/{full}/issues/{n}"
    return {
        "url": u,
        "repository_url": f"{api}/repos/{full}",
        "labels_url": f"{u}/labels{{/name}}",
        "comments_url": f"{u}/comments",
        "events_url": f"{u}/events",
        "html_url": f"{WEB}/{full}/pull/{n}",
        "id": pull.id + 1,
        "node_id": node_id("Issue", pull.id + 1),
        "number": n,
        "title": pull.title,
        "user": author,
        "labels": [],
        "state": pull.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": comments,
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": pull.closed_at,
        "author_association": pull.author_association,
        "active_lock_reason": None,
        "draft": pull.draft,
        "pull_request": {
            "url": f"{api}/repos/{full}/pulls/{n}",
            "html_url": f"{WEB}/{full}/pull/{n}",
            "diff_url": f"{WEB}/{full}/pull/{n}.diff",
            "patch_url": f"{WEB}/{full}/pull/{n}.patch",
            "merged_at": pull.merged_at,
        },
        "body": pull.body,
        "reactions": {"url": f"{u}/reactions", "total_count": 0, **{name: 0 for name in REACTIONS}},
        "timeline_url": f"{u}/timeline",
        "performed_via_github_app": None,
        "state_reason": None,
        "closed_by": None,
    }


def reaction(reaction_record: dict, author: dict) -> dict:
    return {
        "id": reaction_record["id"],
        "node_id": node_id("Reaction", reaction_record["id"]),
        "user": author,
        "content": reaction_record["content"],
        "created_at": reaction_record["created_at"],
    }


def status(api: str, full: str, record: dict, creator: dict) -> dict:
    return {
        "url": f"{api}/repos/{full}/statuses/{record['sha']}",
        "avatar_url": creator["avatar_url"],
        "id": record["id"],
        "node_id": node_id("StatusContext", record["id"]),
        "state": record["state"],
        "description": record["description"],
        "target_url": record["target_url"],
        "context": record["context"],
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
        "creator": creator,
    }


def permission(role: str, who: dict) -> dict:
    return {"permission": LEGACY_PERMISSION.get(role, "read"), "role_name": role, "user": who}


def rate_limit(limit: int, remaining: int, reset: int) -> dict:
    core = {"limit": limit, "used": limit - remaining, "remaining": remaining, "reset": reset}
    other = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
    return {
        "resources": {
            "core": core,
            "search": other,
            "graphql": {**core, "used": 0, "remaining": limit},
            "integration_manifest": other,
            "source_import": other,
            "code_scanning_upload": other,
            "code_scanning_autofix": other,
            "actions_runner_registration": other,
            "scim": other,
            "dependency_snapshots": other,
            "audit_log": other,
            "audit_log_streaming": other,
            "code_search": {**other, "limit": 10, "remaining": 10},
        },
        "rate": core,
    }


def app(api: str, app_id: int, slug: str, owner: dict, created_at: str) -> dict:
    return {
        "id": app_id,
        "slug": slug,
        "node_id": node_id("App", app_id),
        "client_id": f"Iv1.{app_id:016x}",
        "owner": owner,
        "name": slug,
        "description": "perfbot test app",
        "external_url": WEB,
        "html_url": f"{WEB}/apps/{slug}",
        "created_at": created_at,
        "updated_at": created_at,
        "permissions": {"issues": "write", "pull_requests": "write", "statuses": "write", "metadata": "read"},
        "events": ["issue_comment", "pull_request", "push"],
        "installations_count": 1,
    }


def access_token(token: str, expires_at: str) -> dict:
    return {
        "token": token,
        "expires_at": expires_at,
        "permissions": {"issues": "write", "pull_requests": "write", "statuses": "write", "metadata": "read"},
        "repository_selection": "all",
    }


def error(status: int, message: str, doc: str = "") -> dict:
    """GitHub's error body: a message, where to read about it, and (since 2023) the status as a string."""
    return {"message": message, "documentation_url": f"{DOCS}{doc}", "status": str(status)}


# Webhook payloads ---------------------------------------------------------------------------
#
# Webhook payloads embed the same objects as the REST API, minus a few REST-only fields that
# octokit/webhooks' schemas (additionalProperties: false) do not allow.

_REST_ONLY_REPO_KEYS = {
    "network_count",
    "subscribers_count",
    "temp_clone_token",
    "security_and_analysis",
    "parent",
    "source",
    "organization",
}
_REST_ONLY_USER_KEYS = {"user_view_type"}
_REST_ONLY_ISSUE_KEYS = {"closed_by"}


def for_webhook(obj: Any) -> Any:
    """A REST shape as a webhook payload carries it."""
    if isinstance(obj, list):
        return [for_webhook(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    drop: set[str] = set()
    if "received_events_url" in obj and "login" in obj:
        drop = _REST_ONLY_USER_KEYS
    elif "hooks_url" in obj and "full_name" in obj:
        drop = _REST_ONLY_REPO_KEYS
    elif "timeline_url" in obj and "repository_url" in obj:
        drop = _REST_ONLY_ISSUE_KEYS
    return {k: for_webhook(v) for k, v in obj.items() if k not in drop}
