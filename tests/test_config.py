"""Settings come from the environment and fail with a message naming the variable."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, env_bool, env_int, from_environment


def test_a_missing_secret_key_names_the_variable_outside_the_demo() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        from_environment({"DATA_KEY": "k"})


def test_a_missing_data_key_names_the_variable_outside_the_demo() -> None:
    with pytest.raises(ConfigError, match="DATA_KEY must be set"):
        from_environment({"SECRET_KEY": "s"})


def test_a_malformed_boolean_or_number_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="LARK_SANDBOX must be a boolean"):
        env_bool("LARK_SANDBOX", False, {"LARK_SANDBOX": "perhaps"})
    with pytest.raises(ConfigError, match="LARK_HTTP_TIMEOUT_MS must be a whole number"):
        env_int("LARK_HTTP_TIMEOUT_MS", 5000, {"LARK_HTTP_TIMEOUT_MS": "5s"})


def test_the_embedded_default_is_sqlite_and_postgres_urls_use_psycopg() -> None:
    demo = from_environment({"LARK_SANDBOX": "1"})
    assert demo["SQLALCHEMY_DATABASE_URI"] == "sqlite:///app.db"
    prod = from_environment(
        {"SECRET_KEY": "s", "DATA_KEY": "k", "DATABASE_URL": "postgres://u@db/oncall"}
    )
    assert prod["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/oncall"
    assert prod["LARK_SANDBOX"] is False


def test_an_api_rate_limit_that_is_not_one_stops_the_app() -> None:
    env = {"SECRET_KEY": "x", "DATA_KEY": "y", "API_RATE_LIMIT": "lots"}
    with pytest.raises(ConfigError, match="API_RATE_LIMIT must read like 600/minute"):
        from_environment(env)
    assert from_environment({**env, "API_RATE_LIMIT": "5/second"})["API_RATE_LIMIT"] == "5/second"
