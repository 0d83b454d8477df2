"""Settings for a command from four places, strongest first: command-line flags, environment
variables, ``fazhi.toml`` in the working directory, built-in defaults.

``fazhi.toml`` holds one table per command, e.g.::

    [extract]
    backend = "llm"
    model = "qwen2.5-7b-instruct"
    base_url = "http://127.0.0.1:8080/v1"
    concurrency = 4

Every value is checked the same way whichever of the four places it comes from: its kind, and
the bounds in ``EXTRACT_SETTINGS`` (a chunk size of 1 or a timeout of ``nan`` from the
environment is refused exactly as the flag would be).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fazhi.errors import FazhiError

CONFIG_FILE = "fazhi.toml"
_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Setting:
    env: str | None
    default: object
    kind: type
    least: float | None = None  # smallest value allowed (inclusive)
    most: float | None = None  # largest value allowed (inclusive)
    above: float | None = None  # values must be strictly greater (a timeout of 0 never answers)
    url: bool = False  # an http(s) URL with a host


# The keys [extract] accepts, their environment variable and default.
EXTRACT_SETTINGS: dict[str, Setting] = {
    "backend": Setting("FAZHI_BACKEND", "auto", str),
    "model": Setting("FAZHI_MODEL", None, str),
    "base_url": Setting("OPENAI_BASE_URL", None, str, url=True),
    "api_key_env": Setting("FAZHI_API_KEY_ENV", "OPENAI_API_KEY", str),
    "mode": Setting("FAZHI_MODE", None, str),
    "concurrency": Setting("FAZHI_CONCURRENCY", 4, int, least=1, most=256),
    # Below ~200 characters a chunk holds no sentence with its context (and 1 means a model
    # call per character); 1,000,000 is beyond any report we have seen as one chunk.
    "chunk_size": Setting("FAZHI_CHUNK_SIZE", None, int, least=200, most=1_000_000),
    "cache_dir": Setting("FAZHI_CACHE_DIR", None, str),
    "timeout": Setting("FAZHI_TIMEOUT", 120.0, float, above=0, most=86_400),
    "max_reasks": Setting("FAZHI_MAX_REASKS", 2, int, least=0, most=20),
    "llm_style": Setting("FAZHI_LLM_STYLE", "label", str),
    "hybrid_prefer": Setting("FAZHI_HYBRID_PREFER", "auto", str),
    "context_tokens": Setting("FAZHI_CONTEXT_TOKENS", None, int, least=2000),
    "price_in": Setting("FAZHI_PRICE_IN", None, float, least=0),
    "price_out": Setting("FAZHI_PRICE_OUT", None, float, least=0),
    "batch_discount": Setting("FAZHI_BATCH_DISCOUNT", 0.5, float, least=0, most=1),
}


class ConfigError(FazhiError, ValueError):
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
    flags: Mapping[str, object],
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
            value, where = flags[name], "--" + name.replace("_", "-")
        elif setting.env and environ.get(setting.env):
            where = f"${setting.env}"
            value = _convert(environ[setting.env], setting.kind, where)
        elif name in file_values:
            where = f"{CONFIG_FILE}: {name}"
            value = _check(file_values[name], setting.kind, where)
        else:
            settled[name] = setting.default
            continue
        settled[name] = _within(value, setting, where)
    return settled


def _within(value: object, setting: Setting, where: str) -> object:
    """``value`` if it lies in the setting's bounds, else one ConfigError line saying which."""
    if setting.url:
        _check_url(str(value), where)
    if not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}={value!r} must be a finite number")
    if setting.above is not None and not value > setting.above:
        raise ConfigError(f"{where}={value!r} must be greater than {setting.above:g}")
    if setting.least is not None and value < setting.least:
        raise ConfigError(f"{where}={value!r} must be at least {setting.least:g}")
    if setting.most is not None and value > setting.most:
        raise ConfigError(f"{where}={value!r} must be at most {setting.most:g}")
    return value


def _check_url(text: str, where: str) -> None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- parsing the port is what finds "host:notaport"
    except ValueError as exc:
        raise ConfigError(f"{where}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: not an http(s) URL with a host, e.g. http://127.0.0.1:8080/v1")


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
