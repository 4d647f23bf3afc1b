"""Settings: how many request threads a worker runs, by database and by choice."""

from __future__ import annotations

import pytest

from secplane.config import Settings


def test_sqlite_runs_requests_inline() -> None:
    assert Settings().request_threads == 0


def test_postgresql_runs_requests_on_threads() -> None:
    assert Settings(database_url="postgresql+psycopg://postgres@127.0.0.1/x").request_threads == 8


def test_an_explicit_choice_wins_and_reaches_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env(threads=4)
    assert settings.request_threads == 4
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().request_threads == 4


def test_no_choice_stays_no_choice_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in Settings.from_env().to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().threads is None
