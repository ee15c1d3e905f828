"""TOML layers into typed settings: one file read whatever it holds, its keys and types checked against a tree of
dataclasses, layers merged, the tree built; every error one ConfigError that names the file and the dotted key."""
from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

# fields every layer leaves alone: set by the loader itself (kiosk.settings.Settings)
NOT_IN_FILES = ("data_dir", "sources", "secrets")
MAX_FILE_BYTES = 1024 * 1024  # a settings file is a few kilobytes; anything this large is not one


def read_toml(path: Path) -> dict[str, Any]:
    """One TOML file as a table. Whatever the file holds (random bytes, another encoding, a huge number,
    nesting deeper than the parser goes), the answer is the table or one ConfigError naming the file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(key=f"{path}: file not found") from exc
    except OSError as exc:
        raise ConfigError(key=f"{path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(key=f"{path}: larger than {MAX_FILE_BYTES} bytes, not a settings file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(key=f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key=f"{path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(key=f"{path}: not a settings file ({type(exc).__name__})") from None


def check_layer(data: dict[str, Any], cls: type, path: str, source: Path) -> None:
    """Refuse unknown keys and wrong types in one file, naming the file and the dotted key."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name not in NOT_IN_FILES}
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else key
        if key not in known:
            raise ConfigError(key=f"{source}: unknown key '{dotted}'")
        expected = hints[key]
        if is_dataclass(expected):
            if not isinstance(value, dict):
                raise ConfigError(key=f"{source}: '{dotted}' must be a table")
            check_layer(value, expected, dotted, source)  # type: ignore[arg-type]
        elif not _type_ok(value, expected):
            raise ConfigError(key=f"{source}: '{dotted}' must be {_type_name(expected)}, got {type(value).__name__}")


def _type_ok(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin is dict:
        key_type, value_type = typing.get_args(expected)
        return isinstance(value, dict) and all(_type_ok(k, key_type) and _type_ok(v, value_type)
                                               for k, v in value.items())
    if origin is tuple:
        inner = typing.get_args(expected)[0]
        return isinstance(value, list) and all(_type_ok(v, inner) for v in value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is bool:
        return isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(expected))
    return isinstance(value, expected)


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is tuple:
        return f"a list of {_type_name(typing.get_args(expected)[0])}"
    if typing.get_origin(expected) is dict:
        return f"a table of {_type_name(typing.get_args(expected)[1])}"
    return {int: "an integer", bool: "true or false", str: "a string", float: "a number"}.get(expected, str(expected))


def origins(data: dict[str, Any], source: str, into: dict[str, str], path: str = "") -> None:
    """Record `source` as the file that set every key (and table) in `data`."""
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else str(key)
        into[dotted] = source
        if isinstance(value, dict):
            origins(value, source, into, dotted)


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def build(cls: type, data: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in NOT_IN_FILES:
            continue
        dotted = f"{path}.{f.name}" if path else f.name
        if f.name not in data:
            raise ConfigError(key=f"missing key '{dotted}'")
        value = data[f.name]
        expected = hints[f.name]
        if is_dataclass(expected):
            kwargs[f.name] = build(expected, value, dotted)  # type: ignore[arg-type]
        elif typing.get_origin(expected) is tuple:
            kwargs[f.name] = tuple(value)
        elif typing.get_origin(expected) is dict:
            kwargs[f.name] = dict(value)
        else:
            kwargs[f.name] = value
    return cls(**kwargs)
