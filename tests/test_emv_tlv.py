"""TLV trees, encoding, and the technician's `appliance tlv` with sensitive data masked."""

from __future__ import annotations

import json

import pytest

from appliance.cli import main
from appliance.emv import tlv
from appliance.emv.trace import masked_pan
from tests.test_native import ADF_FCI, READ_RECORD, hexbytes


def test_tree_and_find():
    nodes = tlv.decode(hexbytes(ADF_FCI))
    assert [n.tag for n in nodes] == [0x6F]
    pdol = tlv.find(nodes, 0x9F38)
    assert pdol is not None and pdol.value.hex().upper().startswith("9F6604")
    assert tlv.find(nodes, 0x50).value == b"VISA CREDIT"
    assert tlv.find(nodes, 0x9F02) is None


@pytest.mark.parametrize("tag, value", [(0x5A, b"\x01" * 8), (0x9F38, b"x" * 200), (0xBF0C, b""), (0x9F46, b"y" * 70000)])
def test_encode_decodes_back(tag, value):
    node = tlv.decode(tlv.encode(tag, value))[0]
    assert (node.tag, node.value) == (tag, value)


def test_masked_pan():
    assert masked_pan("4761739001010119") == "476173******0119"
    assert masked_pan("1234") == "****"


def test_tlv_command_names_tags_and_masks_card_data(capsys):
    assert main(["tlv", READ_RECORD]) == 0
    out = capsys.readouterr().out
    assert "70 READ RECORD Response Message Template [74]" in out
    assert "5A Application Primary Account Number (PAN) [8] 476173******0119" in out
    assert "57 Track 2 Equivalent Data [19] <19 bytes masked>" in out
    assert "5F20 Cardholder Name [15] <15 bytes masked>" in out
    assert "4761739001010119" not in out and "CARDHOLDER" not in out
    assert "5F24 Application Expiration Date [3] 221231" in out


def test_tlv_command_json_and_spacing(capsys):
    spaced = " ".join(ADF_FCI[i : i + 2] for i in range(0, len(ADF_FCI), 2)).replace(" ", ":", 3)
    assert main(["tlv", "--json", spaced]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree[0]["tag"] == "6F" and tree[0]["children"][1]["children"][0] == {
        "tag": "50", "name": "Application Label", "offset": 13, "length": 11, "value": "'VISA CREDIT'",
    }


@pytest.mark.parametrize("text, message", [
    ("9F0206 0000", "byte 2: a value runs past the end of its container"),
    ("9F", "byte 1: the data ends inside a tag or a length"),
    ("6FZZ", "hex character 3: 'Z' is not a hex digit"),
    ("6F0", "odd number of hex digits"),
    ("9F0280", "byte 2: indefinite length"),
])
def test_tlv_command_refuses_bad_input_with_status_2(capsys, text, message):
    assert main(["tlv", text]) == 2
    assert message in capsys.readouterr().err
