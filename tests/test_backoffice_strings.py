"""Every word the back office shows exists in Chinese and in English (a missing key would show as `stock.thing`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "backoffice" / "static"
SCRIPTS = sorted(STATIC.glob("*.js"))
# A table's keys: "a.b": or bare identifiers like `loading:` at the start of an entry.
_KEY = re.compile(r'(?:^\s*|[{,]\s*)(?:"([A-Za-z0-9_.~-]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*:', re.M)
_USED = re.compile(r'\bt\(\s*"([^"]+)"')


def tables(source: str) -> dict[str, set[str]]:
    """The keys each language's table in `source` defines (addStrings({en: {...}, zh: {...}}) blocks)."""
    found: dict[str, set[str]] = {"en": set(), "zh": set()}
    for block in re.finditer(r"addStrings\(\{(.*?)\n\}\);", source, re.S):
        for lang, body in re.findall(r"\b(en|zh):\s*\{(.*?)\n  \}", block.group(1), re.S):
            found[lang] |= {a or b for a, b in _KEY.findall(body)}
    return found


def all_keys() -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {"en": set(), "zh": set()}
    for script in SCRIPTS:
        for lang, names in tables(script.read_text(encoding="utf-8")).items():
            keys[lang] |= names
    return keys


def test_the_strings_are_found_at_all():
    keys = all_keys()
    assert {"app.title", "dash.net", "catalog.import", "loading"} <= keys["en"]
    assert len(keys["en"]) > 150


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_page_speaks_both_languages(script):
    table = tables(script.read_text(encoding="utf-8"))
    # The shared i18n.js table also names report titles and column keys in Chinese only
    # (English uses the server's own titles), so only English keys must all have Chinese.
    assert table["en"] - table["zh"] == set(), f"{script.name}: keys without Chinese"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_key_a_page_uses_is_defined(script):
    keys = all_keys()
    used = set(_USED.findall(script.read_text(encoding="utf-8")))
    assert used - keys["en"] == set(), f"{script.name} uses keys no table defines"
