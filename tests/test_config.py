"""Loading the TOML configuration: defaults, overrides, the round trip, and every kind of bad input."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from appliance import config
from appliance.core.barcode import InstoreLayout
from appliance.errors import ConfigError

FULL = """
[shop]
name = "好邻居 Good Neighbour"
address = "北京市朝阳区建国路88号"
tax_id = "91110105MA00EXAMPL"
phone = ""
footer = "See you soon"

[device]
id = "T02"

[currency]
code = "USD"
exponent = 2
symbol = "$"

[tax]
mode = "exclusive"
rounding = "total"
classes = { food = "6.5%", general = "13%", none = "0%" }
default_class = "general"

[cash]
rounding_step = 5
rounding_mode = "down"

[time]
zone = "America/New_York"
cutover_hour = 0

[receipt]
width = 32

[sale]
discount_limit = "25%"
price_override_limit = "0.5%"
max_quantity = 50
return_days = 0

[barcode]
instore = ["23IIIIXPPPPPC", "250IIIIWWWWWC"]

[security]
pin_attempts = 3
lockout_minutes = 60

[paths]
data_dir = "data/pos"
database = "till.db"

[store]
synchronous = "NORMAL"
"""


def write(tmp_path: Path, text: str, name: str = "shop.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    return str(caught.value)


# --- good files


def test_the_embedded_default_loads():
    settings = config.load(None)
    assert settings.source == config.EMBEDDED
    assert settings.device.id == "T01"
    assert settings.tax.classes == {"standard": 1300, "reduced": 900, "zero": 0}
    assert [layout.pattern for layout in settings.barcode.instore] == ["21IIIIIPPPPPC", "22IIIIIWWWWWC"]
    assert settings.database_path == Path.cwd() / "var" / "appliance.db"


def test_an_empty_file_is_the_defaults_read_from_that_file(tmp_path):
    settings = config.load(write(tmp_path, ""))
    assert settings.source == str(tmp_path / "shop.toml")
    assert settings.shop == config.Shop() and settings.tax == config.Tax()
    assert settings.database_path == tmp_path / "var" / "appliance.db"


def test_a_full_file_overrides_every_section(tmp_path):
    settings = config.load(write(tmp_path, FULL))
    assert settings.shop.name == "好邻居 Good Neighbour" and settings.shop.phone == ""
    assert settings.device.id == "T02"
    assert (settings.currency.code, settings.currency.symbol) == ("USD", "$")
    assert (settings.tax.mode, settings.tax.rounding, settings.tax.default_class) == ("exclusive", "total", "general")
    assert (settings.cash.rounding_step, settings.cash.rounding_mode) == (5, "down")
    assert (settings.time.zone, settings.time.cutover_hour) == ("America/New_York", 0)
    assert settings.receipt.width == 32
    assert (settings.sale.max_quantity, settings.sale.return_days) == (50, 0)
    assert settings.barcode.instore == (InstoreLayout("23IIIIXPPPPPC"), InstoreLayout("250IIIIWWWWWC"))
    assert (settings.security.pin_attempts, settings.security.lockout_minutes) == (3, 60)
    assert settings.store.synchronous == "NORMAL"


def test_percentages_become_basis_points(tmp_path):
    settings = config.load(write(tmp_path, FULL))
    assert settings.tax.classes == {"food": 650, "general": 1300, "none": 0}
    assert settings.tax_rate("food") == 650
    assert settings.tax_rate("") == 1300  # a product naming no class gets default_class
    assert settings.sale.discount_limit == 2500
    assert settings.sale.price_override_limit == 50


def test_relative_paths_are_resolved_against_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    write(folder, FULL)
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    settings = config.load(Path("etc") / "shop.toml")
    assert settings.base_dir == folder
    assert settings.database_path == folder / "data" / "pos" / "till.db"


def test_absolute_paths_are_used_as_they_are(tmp_path):
    absolute = tmp_path / "elsewhere"
    settings = config.load(write(tmp_path, f'[paths]\ndata_dir = "{absolute}"\n'))
    assert settings.database_path == absolute / "appliance.db"


def test_to_toml_parses_back_to_the_same_settings(tmp_path):
    original = config.load(write(tmp_path, FULL))
    text = original.to_toml()
    again = config.from_mapping(tomllib.loads(text), source=original.source, base_dir=original.base_dir)
    assert again == original
    assert 'food = "6.5%"' in text  # written back as the percentage a person typed


def test_the_default_round_trips_through_toml():
    original = config.load(None)
    again = config.from_mapping(tomllib.loads(original.to_toml()), base_dir=original.base_dir)
    assert again == original


def test_documented_defaults_are_what_an_empty_file_gives():
    """documented_keys() shows defaults as TOML; read back they must give the real defaults."""
    raw: dict[str, dict] = {}
    for section, key, default, doc in config.documented_keys():
        assert doc, f"[{section}] {key} has no doc"
        if section != "devices":  # per-device keys: their default is the embedded device list
            raw.setdefault(section, {})[key] = default
    assert config.from_mapping(raw) == config.from_mapping({})


# --- bad files: each error names the file, the [section], the key and the reason


@pytest.mark.parametrize(
    ("section", "key", "value", "reason"),
    [
        ("shop", "name", "42", "must be a string, not int"),
        ("shop", "footer", f'"{"x" * 121}"', "must be at most 120 characters"),
        ("currency", "exponent", '"2"', "must be a whole number, not str"),
        ("security", "pin_attempts", "true", "must be a whole number, not bool"),
        ("cash", "rounding_step", "0.5", "must be a whole number, not float"),
        ("time", "cutover_hour", "24", "must be between 0 and 23, not 24"),
        ("time", "cutover_hour", "-1", "must be between 0 and 23, not -1"),
        ("currency", "exponent", "5", "must be between 0 and 4, not 5"),
        ("receipt", "width", "40", "must be one of 32, 42, 48, not 40"),
        ("receipt", "width", "32.0", "must be one of 32, 42, 48, not 32.0"),
        ("receipt", "width", '"48"', "must be one of 32, 42, 48, not '48'"),
        ("tax", "mode", '"included"', "must be one of 'inclusive', 'exclusive', not 'included'"),
        ("tax", "rounding", '"Line"', "must be one of 'line', 'total'"),
        ("cash", "rounding_mode", '"half_even"', "must be one of 'nearest', 'down', 'up'"),
        ("store", "synchronous", '"OFF"', "must be one of 'FULL', 'NORMAL', not 'OFF'"),
        ("sale", "discount_limit", '"13"', 'like "13%"'),
        ("sale", "discount_limit", "13", 'like "13%"'),
        ("sale", "discount_limit", '"120%"', "between 0% and 100%"),
        ("sale", "price_override_limit", '"abc%"', "is not a number"),
        ("time", "zone", '"Mars/Olympus"', "'Mars/Olympus' is not a known time zone"),
        ("time", "zone", '"Asia"', "'Asia' is not a known time zone"),
        ("time", "zone", '"../../etc/passwd"', "is not a known time zone"),
        ("device", "id", '"t01"', "must be 1-8 capital letters or digits, not 't01'"),
        ("device", "id", '"T0000000001"', "must be 1-8 capital letters or digits"),
        ("currency", "code", '"yuan"', "must be three capital letters"),
        ("tax", "classes", '{ standard = "13" }', "class 'standard': must be a percentage"),
        ("tax", "classes", '{ Standard = "13%" }', "class name 'Standard' must be lowercase"),
        ("tax", "classes", "{}", "must be a table of class"),
        ("barcode", "instore", '"21IIIIIPPPPPC"', "must be a list of layouts"),
        ("barcode", "instore", "[21]", "layout 21 must be a string"),
        ("barcode", "instore", '["21IIIIIPPPPP"]', "must have 13 characters"),
        ("barcode", "instore", '["31IIIIIPPPPPC"]', "in-store prefix"),
        ("barcode", "instore", '["21IIIIIPPPPPX"]', "must end with C"),
        ("barcode", "instore", '["21PPPPPPPPPPC"]', "has no item code (I)"),
        ("barcode", "instore", '["21IIIIIPPWWWC"]', "either a price (P) or a weight (W)"),
        ("barcode", "instore", '["21IIPIIPPPPPC"]', "the I digits must be contiguous"),
        ("barcode", "instore", '["21IIIIIPPPPPC", "210IIIIWWWWWC"]', "prefixes '210' and '21' overlap"),
        ("barcode", "instore", '["21IIIIIPPPPPC", "21IIIIIWWWWWC"]', "overlap"),
        ("tax", "default_class", '"luxury"', "'luxury' is not one of the tax classes (standard, reduced, zero)"),
        ("shop", "nmae", '"x"', "unknown key; known keys are address, footer, name, phone, tax_id"),
        ("paths", "data_dir", "7", "must be a string, not int"),
    ],
)
def test_a_bad_value_names_file_section_key_and_reason(tmp_path, section, key, value, reason):
    message = load_error(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert message.startswith(f"{tmp_path / 'shop.toml'}: [{section}] {key}: ")
    assert reason in message


def test_default_class_is_checked_against_the_classes_of_the_file(tmp_path):
    message = load_error(tmp_path, '[tax]\nclasses = { food = "6%" }\n')
    assert message == f"{tmp_path / 'shop.toml'}: [tax] default_class: 'standard' is not one of the tax classes (food)"


def test_digital_receipts_need_head_office(tmp_path):
    message = load_error(tmp_path, "[receipt]\ndigital = true\n")
    assert message == (f"{tmp_path / 'shop.toml'}: [receipt] digital: digital receipts are pages served by head "
                       "office: set [sync] url too, or turn digital off")
    settings = config.load(write(tmp_path, '[receipt]\ndigital = true\n[sync]\nurl = "https://ho.example.com/"\n'))
    assert settings.receipt.digital and settings.sync.url == "https://ho.example.com"


def test_an_unknown_section_is_refused(tmp_path):
    message = load_error(tmp_path, "[printer]\nwidth = 32\n")
    assert message.startswith(f"{tmp_path / 'shop.toml'}: [printer]: unknown section; known sections are shop,")


def test_a_section_that_is_not_a_table_is_refused(tmp_path):
    message = load_error(tmp_path, 'shop = "Demo Mart"\n')
    assert message.startswith(f"{tmp_path / 'shop.toml'}: [shop]: must be a table")
    assert "not str" in message


def test_invalid_toml_says_so_with_the_place(tmp_path):
    message = load_error(tmp_path, "[shop\nname = 1\n")
    assert message.startswith(f"{tmp_path / 'shop.toml'}: is not valid TOML")
    assert "line 1" in message


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "shop.toml"
    path.write_bytes('[shop]\nname = "店"\n'.encode("gb18030"))
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        config.load(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        config.load(tmp_path / "nowhere.toml")
    assert str(caught.value) == f"{tmp_path / 'nowhere.toml'}: cannot read the configuration file: No such file or directory"


def test_config_errors_are_also_value_errors(tmp_path):
    """Callers that only know Python's exceptions still catch a bad configuration."""
    with pytest.raises(ValueError):
        config.load(write(tmp_path, "[time]\ncutover_hour = 99\n"))
