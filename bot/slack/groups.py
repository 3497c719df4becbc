"""User-group members for access rules: usergroups.users.list, cached with a TTL.

A lookup costs one Web API call per group every few minutes, not one per question. A
failed lookup (missing `usergroups:read`, rate limit, network) reads as "no members": a
restricted source stays hidden rather than leak. It is retried after a short pause, and a
members list already known is kept until a fresh one arrives.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

MEMBERS_TTL = 300.0  # seconds a group's member list is trusted
RETRY_AFTER = 30.0  # seconds before a failed lookup is tried again


class GroupMembers:
    """`members(group_id)` → the user ids in that Slack user group."""

    def __init__(self, client: WebClient, ttl: float = MEMBERS_TTL) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, group: str) -> frozenset[str]:
        now = time.monotonic()
        found = self._cache.get(group)
        if found is not None and found[0] > now:
            return found[1]
        with self._guard:
            lock = self._locks.setdefault(group, threading.Lock())
        with lock:  # one lookup per group at a time; the others wait for its result
            found = self._cache.get(group)
            if found is not None and found[0] > time.monotonic():
                return found[1]
            members, ttl = self._fetch(group, found[1] if found else frozenset())
            self._cache[group] = (time.monotonic() + ttl, members)
            return members

    def _fetch(self, group: str, known: frozenset[str]) -> tuple[frozenset[str], float]:
        try:
            resp = self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            log.warning("cannot read members of user group %s (%s)", group, error)
            return known, RETRY_AFTER
        users = resp.get("users") or []
        return frozenset(str(u) for u in users if isinstance(u, str)), self.ttl
