"""Configuration: defaults < `recoup.toml` (in the working folder) < `RECOUP_*` env < flags.

A `recoup.toml` that cannot be used is a `ConfigError`: one sentence naming the file, the line,
the key and what was expected, never pydantic's or tomllib's own report.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from recoup.sql import run

CONFIG_FILE = Path("recoup.toml")  # read from the working folder
ENV_PREFIX = "RECOUP_"


class ConfigError(ValueError):
    """recoup.toml (or a `RECOUP_*` variable) cannot be used; the message says where and why."""


class AuditSettings(BaseModel):
    """`[audit]` in recoup.toml."""

    claim_unsellable_damage: bool = False  # claim 6/7/H/K/U damage at full value
    automatic_disposal: bool = False  # you let Amazon dispose of stock: no disposed_unauthorized
    underpaid_tolerance: str = "0.05"  # paid this far below cost before it counts as underpaid
    memory_limit: str = "1GB"  # DuckDB's memory during an audit; beyond it DuckDB spills to disk
    windows: list[dict[str, Any]] = Field(default_factory=list)  # rows like policy/windows.toml
    cost_basis: dict[str, Any] = Field(default_factory=dict)  # marketplace/group -> date

    @field_validator("underpaid_tolerance", mode="before")
    @classmethod
    def _decimal_text(cls, value: object) -> str:
        """Kept as text so it stays exact; `0.05` written as a TOML number means the same."""
        text = str(value) if isinstance(value, str | int | float) else ""
        try:
            if not isinstance(value, bool) and Decimal(text).is_finite():
                return text
        except InvalidOperation:
            pass
        raise ValueError('expected a decimal number such as "0.05"')

    @field_validator("memory_limit")
    @classmethod
    def _duckdb_size(cls, value: str) -> str:
        """Checked by DuckDB itself now, not halfway through the first audit."""
        try:
            run(duckdb.connect(), "SET memory_limit = ?", [value]).close()
        except duckdb.Error:
            raise ValueError("expected a size such as '1GB' or '512MB'") from None
        return value


class SyncSettings(BaseModel):
    """`[sync]` in recoup.toml (credentials never go here: environment or a 0600 file)."""

    poll_seconds: float = 2.0  # the first wait for Amazon to prepare a report; it grows 1.5x
    poll_limit_minutes: float = 30.0  # then give up for now: the next sync resumes the report


class WebSettings(BaseModel):
    """`[web]` in recoup.toml. The password itself never goes here: `RECOUP_WEB_PASSWORD`, or a
    0600 file named by `password_file`. It is required to bind anywhere but loopback."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    password_file: Path | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

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
        return (init_settings, env_settings, InitSettingsSource(settings_cls, read_config()))


def load_settings() -> Settings:
    """The settings, or a ConfigError that names the file, line and key that are wrong."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(_explain(error.errors())) from None
    except SettingsError as error:  # a RECOUP_* variable holding a table that is not JSON
        raise ConfigError(f"{error}; correct or unset that variable") from None


def read_config(path: Path = CONFIG_FILE) -> dict[str, Any]:
    """The TOML table in `recoup.toml`, empty when there is none."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_syntax(path, error)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}): save it as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path} cannot be read ({error.strerror})") from None


def _syntax(path: Path, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)  # Python 3.11-3.13: "Invalid value (at line 3, column 18)"
    found = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if found:
        where, message = f"line {found[1]}, column {found[2]}", message[: found.start()]
    elif message.endswith(" (at end of document)"):
        lines = len(path.read_text(encoding="utf-8", errors="replace").splitlines()) or 1
        where, message = f"line {lines} (the end of the file)", message.rsplit(" (", 1)[0]
    else:
        where = "somewhere"
    return (
        f"{path} {where}: not valid TOML ({message[:1].lower()}{message[1:]}); correct that line, "
        "or move the file away to use the defaults"
    )


# How pydantic's error types read in a seller's words.
EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "text in quotes", "path_type": "a file path in quotes",
    "model_type": "a table of keys", "model_attributes_type": "a table of keys",
    "dict_type": "a table of keys", "list_type": "a list in [ ]",
}  # fmt: skip


def _explain(errors: list[ErrorDetails]) -> str:
    text = CONFIG_FILE.read_text(encoding="utf-8") if CONFIG_FILE.is_file() else ""
    parts = []
    for error in errors:
        key = tuple(str(part) for part in error["loc"])
        line = _line_of(text, key)
        variable = f"{ENV_PREFIX}{key[0].upper()}"
        if line is None and os.environ.get(variable):
            where = variable
        else:
            where = f"{CONFIG_FILE} line {line}" if line else str(CONFIG_FILE)
        if error["type"] == "value_error":
            expected = str(error.get("ctx", {}).get("error", error["msg"]))
        elif error["type"] in EXPECTED:
            expected = f"expected {EXPECTED[error['type']]}"
        else:
            expected = error["msg"].replace("Input should be", "expected")
        parts.append(f"{where}: {'.'.join(key)}: {expected}, found {_shown(error['input'])}")
    return "; ".join(parts) + "; correct it, or delete it to use the default"


def _shown(value: object) -> str:
    """A value as it would read in the file (true, 'abc', [])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _line_of(text: str, key: tuple[str, ...]) -> int | None:
    """The line that sets `key` (web.port): under its [table], as a dotted key, or the inline
    table around it. None when it is not in the text (it came from the environment)."""
    table: tuple[str, ...] = ()
    around = None
    for number, line in enumerate(text.splitlines(), 1):
        header = re.fullmatch(r"\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?", line)
        if header:
            table = _dotted(header[1])
            continue
        assigned = re.match(r"\s*([\w\"'. -]+?)\s*=", line)
        if not assigned:
            continue
        path = table + _dotted(assigned[1])
        if path == key[: len(path)]:
            if path == key:
                return number
            around = around or number
    return around


def _dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in name.split("."))


def unknown_keys(
    table: Mapping[str, Any], model: type[BaseModel] = Settings, prefix: str = ""
) -> list[str]:
    """Keys in recoup.toml that recoup does not know (a misspelt key is otherwise ignored)."""
    unknown = []
    for name, value in table.items():
        field = model.model_fields.get(name)
        if field is None:
            unknown.append(f"{prefix}{name}")
            continue
        inner = field.annotation
        if isinstance(value, dict) and isinstance(inner, type) and issubclass(inner, BaseModel):
            unknown += unknown_keys(value, inner, f"{prefix}{name}.")
    return unknown
