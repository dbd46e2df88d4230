"""The docs keep up with the code: every config key, CLI command and option is documented."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from appliance import config
from appliance.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = ROOT / "docs" / "configuration.md"
CLI_DOC = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"


def sections_by_heading(text: str, pattern: str) -> dict[str, str]:
    """Text under each Markdown heading that matches `pattern`, keyed by the pattern's group 1."""
    sections: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            match = re.match(pattern, line)
            current = match.group(1) if match else None
            if current is not None:
                sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def commands(parser: argparse.ArgumentParser, path: str = "appliance"):
    """(command path, its parser) for `appliance` and every command and subcommand, recursively."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{path} {name}")


def documented_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """How each option (all its spellings) and positional argument should appear in the docs."""
    names = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            names.extend(action.option_strings)
        else:
            names.append(action.metavar or action.dest.upper())
    return names


# --- configuration.md


@pytest.fixture(scope="module")
def config_sections() -> dict[str, str]:
    return sections_by_heading(CONFIG_DOC.read_text(encoding="utf-8"), r"#+ \[(\w+)\]\s*$")


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, _, _ in config.documented_keys()])
def test_every_config_key_is_documented_in_its_section(config_sections, section, key):
    assert section in config_sections, f"docs/configuration.md has no '### [{section}]' heading"
    assert re.search(rf"`{key}`", config_sections[section]), f"[{section}] {key} is not in docs/configuration.md"


def test_the_config_doc_has_no_section_the_code_does_not_know(config_sections):
    assert set(config_sections) <= set(config.ALL_SECTIONS)


def test_the_example_config_file_in_the_docs_is_complete_and_valid(tmp_path):
    text = CONFIG_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks, "docs/configuration.md has no ```toml example"
    example = tomllib.loads(blocks[-1])
    devices = example.pop("devices", {})
    assert {(s, k) for s, keys in example.items() for k in keys} == {
        (s, k) for s, k, _, _ in config.documented_keys() if s != "devices"
    }
    used = {key for table in devices.values() for key in table}
    assert used == set(config.DEVICE_KEYS), "the example's [devices.NAME] tables should use every device key"
    path = tmp_path / "example.toml"
    path.write_text(blocks[-1], encoding="utf-8")
    config.load(path)  # raises ConfigError if the documented example is wrong


# --- cli.md


@pytest.fixture(scope="module")
def cli_sections() -> dict[str, str]:
    return sections_by_heading(CLI_DOC.read_text(encoding="utf-8"), r"#+ `(appliance[a-z \-]*)`")


COMMANDS = dict(commands(build_parser()))


def mentions(text: str, name: str) -> bool:
    """`name` as a word of its own: "--to" is not found inside "--total"."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_has_a_section_naming_its_options(cli_sections, path):
    assert path in cli_sections, f"docs/cli.md has no heading for `{path}`"
    missing = [name for name in documented_arguments(COMMANDS[path]) if not mentions(cli_sections[path], name)]
    assert not missing, f"`{path}` in docs/cli.md does not mention {missing}"


def test_the_cli_doc_has_no_section_for_a_command_that_does_not_exist(cli_sections):
    assert set(cli_sections) <= set(COMMANDS)


def test_the_cli_doc_lists_the_exit_codes_and_pin_variables():
    text = CLI_DOC.read_text(encoding="utf-8")
    for code in "0123":
        assert re.search(rf"^\| {code} \|", text, re.M), f"exit code {code} is not in the table"
    for variable in ("APPLIANCE_PIN", "APPLIANCE_SUPERVISOR_PIN", "APPLIANCE_NEW_PIN", "APPLIANCE_CONFIG"):
        assert f"${variable}" in text


# --- README.md


def quick_start_commands(readme: str) -> list[str]:
    """The shell commands in the code blocks of the README's "Quick start" section."""
    section = re.search(r"^#+ *quick ?start.*?$(.*?)(?=^#+ |\Z)", readme, re.I | re.M | re.S)
    assert section, 'README.md has no "Quick start" heading'
    lines = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", section.group(1), re.S):
        for line in block.splitlines():
            line = re.sub(r"^\s*\$\s*", "", line).split("#", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def test_the_readme_quick_start_is_exactly_make_run_and_make_test():
    assert README.is_file(), "README.md is missing"
    assert quick_start_commands(README.read_text(encoding="utf-8")) == ["make run", "make test"]


def _driver_options() -> list[tuple[str, str, str]]:
    """(kind, scheme, option) for every registered driver; printers add their connection's options."""
    import importlib

    from appliance.hal import registry, transports

    rows = []
    for (kind, scheme), path in registry.DRIVERS.items():
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        options = set(cls.options)
        if kind == "printer" and scheme != "sim":
            options |= {"profile", "paper", "chinese", "status"} | transports.OPTIONS[scheme]
        rows += [(kind, scheme, option) for option in sorted(options)]
    return rows


@pytest.mark.parametrize(("kind", "scheme", "option"), _driver_options())
def test_every_driver_option_is_documented(kind, scheme, option):
    devices = sections_by_heading(CONFIG_DOC.read_text(encoding="utf-8"), r"#+ \[(\w+)\]\s*$")["devices"]
    assert re.search(rf"`{option}`", devices), f"{kind} {scheme}:// option {option!r} is not in docs/configuration.md"


def test_every_api_route_is_in_the_route_table_of_api_md():
    """A route is listed as `METHOD /path`, or as `METHOD /parent/first`, `other` on one row of its group."""
    from appliance.api.server import ROUTES

    rows = [line for line in (ROOT / "docs" / "api.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    missing = []
    for route in ROUTES:
        parent, _, last = route.path.rpartition("/")
        listed = any(f"{route.method} {route.path}`" in row
                     or (f"{route.method} {parent}/" in row and f"`{last}`" in row) for row in rows)  # fmt: skip
        if not listed:
            missing.append(f"{route.method} {route.path}")
    assert not missing, f"add these routes to the table in docs/api.md: {missing}"
