"""Settings for a command from four places, strongest first: command-line flags, environment
variables, ``fazhi.toml`` in the working directory, built-in defaults.

``fazhi.toml`` holds one table per command, e.g.::

    [extract]
    backend = "llm"
    model = "qwen2.5-7b-instruct"
    base_url = "http://127.0.0.1:8080/v1"
    concurrency = 4
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "fazhi.toml"
_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Setting:
    env: str | None
    default: object
    kind: type


# The keys [extract] accepts, their environment variable and default.
EXTRACT_SETTINGS: dict[str, Setting] = {
    "backend": Setting("FAZHI_BACKEND", "auto", str),
    "model": Setting("FAZHI_MODEL", None, str),
    "base_url": Setting("OPENAI_BASE_URL", None, str),
    "api_key_env": Setting("FAZHI_API_KEY_ENV", "OPENAI_API_KEY", str),
    "mode": Setting("FAZHI_MODE", None, str),
    "concurrency": Setting("FAZHI_CONCURRENCY", 4, int),
    "chunk_size": Setting("FAZHI_CHUNK_SIZE", None, int),
    "cache_dir": Setting("FAZHI_CACHE_DIR", None, str),
    "timeout": Setting("FAZHI_TIMEOUT", 120.0, float),
    "max_reasks": Setting("FAZHI_MAX_REASKS", 2, int),
    "llm_style": Setting("FAZHI_LLM_STYLE", "label", str),
    "context_tokens": Setting("FAZHI_CONTEXT_TOKENS", None, int),
    "price_in": Setting("FAZHI_PRICE_IN", None, float),
    "price_out": Setting("FAZHI_PRICE_OUT", None, float),
}


class ConfigError(ValueError):
    """A setting that cannot be used (one line, for the user)."""


def read_config_file(section: str, directory: Path | None = None) -> dict[str, object]:
    """The ``[section]`` table of ``fazhi.toml`` in ``directory`` (default: the working dir)."""
    path = (directory or Path.cwd()) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({' '.join(str(exc).split())})") from None
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{section}] must be a table")
    return table


def settle(
    flags: dict[str, object],
    settings: dict[str, Setting],
    file_values: dict[str, object],
    environ: dict[str, str] | None = None,
) -> dict[str, object]:
    """One value per setting: the flag if given (not None), else env, else file, else default."""
    environ = dict(os.environ) if environ is None else environ
    unknown = sorted(set(file_values) - set(settings))
    if unknown:
        raise ConfigError(
            f"{CONFIG_FILE}: unknown setting {unknown[0]!r}; known: {', '.join(settings)}"
        )
    settled: dict[str, object] = {}
    for name, setting in settings.items():
        if flags.get(name) is not None:
            settled[name] = flags[name]
        elif setting.env and environ.get(setting.env):
            settled[name] = _convert(environ[setting.env], setting.kind, f"${setting.env}")
        elif name in file_values:
            settled[name] = _check(file_values[name], setting.kind, f"{CONFIG_FILE}: {name}")
        else:
            settled[name] = setting.default
    return settled


def _convert(text: str, kind: type, where: str) -> object:
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{where}={text!r} is not {_KIND_NAMES[kind]}") from None


def _check(value: object, kind: type, where: str) -> object:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"{where} must be {_KIND_NAMES[kind]}, not {value!r}")
    return value
