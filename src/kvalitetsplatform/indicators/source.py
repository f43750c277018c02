"""Reading package and codelist files: YAML with line numbers, and errors that name file, line and field.

Every scalar is read as *text*; the reader converts it to the type the field expects. So `0120` stays the ydelseskode
"0120" (plain YAML would read an octal 80), `2026.10` stays a version, and `no` is not a boolean. A mistake is
collected as a `PackageError` (file, line, field path, Danish message) and reading goes on with the next field, so
one run reports every mistake in a file.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

import yaml

T = TypeVar("T")


@dataclass(frozen=True)
class Node:
    """A YAML value with the line it starts on: text (str), None, a mapping (dict of Node) or a list of Node."""

    value: str | None | dict[str, "Node"] | list["Node"]
    line: int


@dataclass(frozen=True)
class PackageError:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, linje {self.line}" + (f", felt '{self.field}'" if self.field else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class Invalid(Exception):
    """Raised inside a reader to abandon the current field; the error is collected by `Reader.attempt`."""

    def __init__(self, error: PackageError):
        super().__init__(str(error))
        self.error = error


class Abandon(Exception):
    """Raised to abandon a part whose mistakes are already recorded; `Reader.attempt` returns None silently."""


class PackageFileError(ValueError):
    """A package or codelist file is wrong; `errors` lists every mistake found."""

    def __init__(self, errors: list[PackageError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class _TextLoader(yaml.SafeLoader):
    """Composes YAML without resolving implicit types: every plain scalar stays text."""


_TextLoader.yaml_implicit_resolvers = {}
NULLS = ("", "~", "null")


def _convert(node: yaml.Node, file: str, errors: list[PackageError]) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        plain = node.style is None
        return Node(None if plain and node.value in NULLS else node.value, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, errors) for item in node.value], line)
    mapping: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            errors.append(PackageError(file, key_line, "", "en nøgle skal være en tekst"))
            continue
        key = key_node.value
        if key in mapping:
            errors.append(PackageError(file, key_line, key, f"nøglen '{key}' står to gange (første gang linje "
                                                            f"{mapping[key].line})"))
            continue
        value = _convert(value_node, file, errors)
        mapping[key] = Node(value.value, key_line)  # a mistake in a value is reported on its key's line
    return Node(mapping, line)


def load_yaml(path: Path, display_name: str | None = None) -> tuple[Node | None, list[PackageError]]:
    """The file's document as a Node tree, plus syntax errors (with their line)."""
    file = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return None, [PackageError(file, 1, "", f"filen er ikke UTF-8 ({e.reason} ved byte {e.start})")]
    try:
        document = yaml.compose(text, Loader=_TextLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        return None, [PackageError(file, line, "", f"ugyldig YAML: {e.problem or e.context}")]
    if document is None:
        return None, [PackageError(file, 1, "", "filen er tom")]
    errors: list[PackageError] = []
    return _convert(document, file, errors), errors


DURATION = re.compile(r"^\s*(\d+)\s*(dag|dage|day|days|uge|uger|week|weeks|måned|måneder|month|months|år|year|years)"
                      r"\s*$", re.IGNORECASE)
DURATION_UNITS = {"dag": "days", "dage": "days", "day": "days", "days": "days", "uge": "weeks", "uger": "weeks",
                  "week": "weeks", "weeks": "weeks", "måned": "months", "måneder": "months", "month": "months",
                  "months": "months", "år": "years", "year": "years", "years": "years"}


class Reader:
    """Typed access to a Node tree, collecting errors for one file."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[PackageError] = []
        self.warnings: list[PackageError] = []

    def fail(self, node: Node | int, field: str, message: str) -> NoReturn:
        line = node if isinstance(node, int) else node.line
        raise Invalid(PackageError(self.file, line, field, message))

    def warn(self, node: Node, field: str, message: str) -> None:
        self.warnings.append(PackageError(self.file, node.line, field, message))

    def attempt(self, read: Callable[..., T], *args, **kwargs) -> T | None:
        """Run one reader; on a mistake record it and return None so the caller can go on."""
        try:
            return read(*args, **kwargs)
        except Invalid as e:
            self.errors.append(e.error)
        except Abandon:
            pass
        return None

    # -- shapes -------------------------------------------------------------------------------------------------

    def mapping(self, node: Node, field: str, allowed: tuple[str, ...] | dict, required: tuple[str, ...] = ()
                ) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            self.fail(node, field, f"forventede en opslagstabel med nøglerne {_names(allowed)}, fik "
                                   f"{_describe(node)}")
        for key, child in node.value.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f" (mente du '{close[0]}'?)" if close else ""
                if child.value is None and not close:
                    hint = " (står der et komma i en tekst inde i {…}? Så sæt teksten i anførselstegn)"
                self.fail(child, _join(field, key), f"ukendt nøgle '{key}'{hint}; tilladt her: {_names(allowed)}")
        for key in required:
            if key not in node.value:
                self.fail(node, _join(field, key), f"'{key}' mangler")
        return node.value

    def sequence(self, node: Node, field: str, allow_single: bool = False) -> list[Node]:
        if isinstance(node.value, list):
            return node.value
        if allow_single and node.value is not None:
            return [node]
        self.fail(node, field, f"forventede en liste, fik {_describe(node)}")

    def text(self, node: Node, field: str) -> str:
        if not isinstance(node.value, str) or not node.value.strip():
            self.fail(node, field, f"forventede en tekst, fik {_describe(node)}")
        return node.value.strip()

    def choice(self, node: Node, field: str, choices: tuple[str, ...]) -> str:
        value = self.text(node, field)
        if value not in choices:
            self.fail(node, field, f"'{value}' er ikke tilladt; vælg en af: {', '.join(choices)}")
        return value

    def integer(self, node: Node, field: str, minimum: int | None = None) -> int:
        value = node.value
        if not isinstance(value, str) or not re.fullmatch(r"[-+]?\d+", value.strip()):
            self.fail(node, field, f"forventede et heltal, fik {_describe(node)}")
        number = int(value)
        if minimum is not None and number < minimum:
            self.fail(node, field, f"skal være mindst {minimum}, fik {number}")
        return number

    def number(self, node: Node, field: str) -> float:
        value = node.value
        parsed = parse_number(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail(node, field, f"forventede et tal (fx 1,8 eller 1.8), fik {_describe(node)}")
        return parsed

    def boolean(self, node: Node, field: str) -> bool:
        value = node.value.strip().lower() if isinstance(node.value, str) else None
        if value not in ("true", "false"):
            self.fail(node, field, f"forventede true eller false, fik {_describe(node)}")
        return value == "true"

    def date(self, node: Node, field: str) -> date:
        value = node.value.strip() if isinstance(node.value, str) else None
        try:
            if value is None or not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.fail(node, field, f"forventede en dato ÅÅÅÅ-MM-DD, fik {_describe(node)}")

    def bilingual(self, node: Node, field: str) -> tuple[str, str]:
        m = self.mapping(node, field, ("da", "en"), ("da", "en"))
        return self.text(m["da"], _join(field, "da")), self.text(m["en"], _join(field, "en"))


class _AnyKey(dict):
    """Pass as `allowed` for mappings whose keys the author names (codelist aliases, indicator ids)."""

    def __contains__(self, key: object) -> bool:
        return True


ANY_KEY = _AnyKey()


def parse_number(text: str) -> float | None:
    """A decimal number with point or comma: '1.8', '1,8', '59', '-2'."""
    text = text.strip()
    if not re.fullmatch(r"[-+]?\d+([.,]\d+)?", text):
        return None
    return float(text.replace(",", "."))


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _names(allowed) -> str:
    return ", ".join(allowed)


def _describe(node: Node) -> str:
    if node.value is None:
        return "ingenting"
    if isinstance(node.value, dict):
        return "en opslagstabel"
    if isinstance(node.value, list):
        return "en liste"
    return f"'{node.value}'"
