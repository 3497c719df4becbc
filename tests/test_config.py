"""Settings from the environment: one variable per field, every bad value a one-liner."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, env_name, from_env
from bot.errors import OpsbotError


def test_every_field_but_extra_has_its_own_variable():
    names = [env_name(f) for f in fields(Settings) if f.name != "extra"]
    assert len(names) == len(set(names))
    assert "KNOWLEDGE_DIR" in names and "TOP_K" in names and "KNOWLEDGE_URLS" in names


def test_values_are_typed_like_their_defaults():
    settings = from_env(
        {
            "INDEX_DIR": "idx",
            "TOP_K": "5",
            "DECLINE_THRESHOLD": "0.5",
            "KNOWLEDGE_OUTSIDE_LINKS": "yes",
            "STORE_QUESTIONS": "off",
            "LOG_FORMAT": "json",
            "EMBEDDING_MODEL": "",  # empty means unset
        }
    )
    assert settings.index_dir == Path("idx") and settings.top_k == 5
    assert settings.decline_threshold == 0.5 and settings.log_format == "json"
    assert settings.knowledge_outside_links is True and settings.store_questions is False
    assert settings.embedding_model == "" and settings.chunk_tokens == Settings().chunk_tokens


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("TOP_K", "many", "TOP_K must be an integer, got 'many'"),
        ("TOP_K", "0", "TOP_K must be at least 1, got 0"),
        ("CHUNK_TOKENS", "16", "CHUNK_TOKENS must be at least 32, got 16"),
        ("CHUNK_TOKENS", "600", "CHUNK_TOKENS must be at most 512"),
        ("SHUTDOWN_TIMEOUT", "-1", "SHUTDOWN_TIMEOUT must be at least 0, got '-1'"),
        ("DECLINE_THRESHOLD", "high", "DECLINE_THRESHOLD must be a number, got 'high'"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be 'text' or 'json', got 'xml'"),
        ("STORE_QUESTIONS", "maybe", "STORE_QUESTIONS must be true or false, got 'maybe'"),
    ],
)
def test_bad_values_name_the_variable(name, raw, message):
    with pytest.raises(ConfigError) as exc:
        from_env({name: raw})
    assert str(exc.value) == message
    assert isinstance(exc.value, OpsbotError) and exc.value.exit_code == 2


def test_index_url_must_be_postgresql_and_a_named_knowledge_folder_is_told_apart():
    assert from_env({"INDEX_URL": "postgresql://u@db/opsbot"}).index_url.startswith("postgresql")
    with pytest.raises(ConfigError, match="INDEX_URL must be a postgresql:// URL"):
        from_env({"INDEX_URL": "mysql://u@db/opsbot"})
    assert not Settings().names_knowledge  # the default knowledge/ was not asked for
    assert from_env({"KNOWLEDGE_DIR": "knowledge"}).names_knowledge  # even when equal
    assert Settings().with_overrides(knowledge_dirs=("knowledge",)).names_knowledge
    assert not Settings().with_overrides(knowledge_dirs=(), top_k=2).names_knowledge
