"""Who may see which source, and what a channel answers from.

A source with `allow` (opsbot.toml) is searched only for questions asked in one of those
channels, by one of those users, or by a member of one of those user groups; a channel with
`sources` answers only from them. The result is a `Scope` the engine applies before ranking.
Nothing here knows Slack: user-group members come from a `Members` function the Slack layer
supplies (usergroups.users.list, cached); terminals on the server pass none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.engine.scope import Scope
from bot.settings_file import ChannelSettings, FileSettings, LiveConfig, check_sources
from bot.sources.spec import source_of

Members = Callable[[str], frozenset[str]]  # user group id -> the user ids in it


def no_members(_group: str) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class Asker:
    """Who asks, where: what every rule is decided on."""

    user: str = ""
    channel: str = ""
    thread: str = ""
    surface: str = "chat"
    local: bool = False  # a terminal on the server (ask, chat): the operator sees every source
    # the reply is seen by the asker alone (a DM, the assistant pane, an ephemeral /opsbot
    # answer, App Home): only then does their own group membership open a restricted source
    private: bool = False


class Access:
    """Scopes from the config file as last read (a reload takes effect on the next question)."""

    def __init__(
        self,
        settings: Settings,
        config: LiveConfig | FileSettings | None = None,
        members: Members = no_members,
    ) -> None:
        self.settings = settings
        self._config = config
        self.members = members
        self._lock = threading.Lock()
        self._built: tuple[FileSettings, tuple[Any, ...]] | None = None

    @property
    def file(self) -> FileSettings:
        config = self._config
        if isinstance(config, LiveConfig):
            return config.current
        return config if config is not None else FileSettings()

    def specs(self) -> tuple[Any, ...]:
        """Every source (flags, environment, config file), as of the current config."""
        file = self.file
        with self._lock:
            if self._built is None or self._built[0] is not file:
                self._built = (file, self.settings.source_specs(file.sources))
            return self._built[1]

    def channel(self, channel_id: str) -> ChannelSettings:
        return self.file.channel(channel_id)

    def may_see(self, asker: Asker, allow: tuple[str, ...]) -> bool:
        """An open source; one allowing this channel; or, for a reply only the asker sees,
        one allowing them or a user group they are in. (A reply in a channel is read by
        everyone there, so there the channel itself must be allowed.)"""
        if not allow or asker.local or (asker.channel and asker.channel in allow):
            return True
        if not (asker.private and asker.user):
            return False
        if asker.user in allow:
            return True
        return any(asker.user in self.members(g) for g in allow if g.startswith("S"))

    def scope(self, asker: Asker) -> Scope | None:
        """The sources this question may draw on; None when nothing is held back."""
        specs = self.specs()
        names = tuple(spec.name for spec in specs)
        wanted = self.channel(asker.channel).sources if asker.channel else ()
        allowed = frozenset(
            spec.name
            for spec in specs
            if (not wanted or spec.name in wanted) and self.may_see(asker, spec.allow)
        )
        if allowed == frozenset(names):
            return None
        return Scope(allowed, names)


def check_config(settings: Settings) -> Callable[[FileSettings], None]:
    """The config file's cross-checks against the sources given elsewhere."""

    def check(file: FileSettings) -> None:
        check_sources(file, [spec.name for spec in settings.source_specs(file.sources)])

    return check


def restricted_paths(settings: Settings) -> Callable[[str], bool] | None:
    """`path → True` for documents of sources with an `allow` list (opsbot.toml), for
    outputs anyone may read; None when no source is restricted."""
    from bot.settings_file import load

    specs = settings.source_specs(load().sources)
    names = [spec.name for spec in specs]
    restricted = {spec.name for spec in specs if spec.allow}
    if not restricted:
        return None
    return lambda path: source_of(path, names) in restricted
