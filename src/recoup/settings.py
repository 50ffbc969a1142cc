"""Configuration: defaults < `recoup.toml` (in the working folder) < `RECOUP_*` env < flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class AuditSettings(BaseModel):
    """`[audit]` in recoup.toml."""

    claim_unsellable_damage: bool = False  # claim 6/7/H/K/U damage at full value
    automatic_disposal: bool = False  # you let Amazon dispose of stock: no disposed_unauthorized
    underpaid_tolerance: str = "0.05"  # paid this far below cost before it counts as underpaid
    memory_limit: str = "1GB"  # DuckDB's memory during an audit; beyond it DuckDB spills to disk
    windows: list[dict[str, Any]] = Field(default_factory=list)  # rows like policy/windows.toml
    cost_basis: dict[str, Any] = Field(default_factory=dict)  # marketplace/group -> date


class SyncSettings(BaseModel):
    """`[sync]` in recoup.toml (credentials never go here: environment or a 0600 file)."""

    poll_seconds: float = 2.0  # the first wait for Amazon to prepare a report; it grows 1.5x
    poll_limit_minutes: float = 30.0  # then give up for now: the next sync resumes the report


class WebSettings(BaseModel):
    """`[web]` in recoup.toml. The password itself never goes here: `RECOUP_WEB_PASSWORD`, or a
    0600 file named by `password_file`. It is required to bind anywhere but loopback."""

    host: str = "127.0.0.1"
    port: int = 8000
    password_file: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECOUP_", toml_file="recoup.toml", extra="ignore")

    workspace: Path = Path("recoup-workspace")
    account: str = "default"
    audit: AuditSettings = Field(default_factory=AuditSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
