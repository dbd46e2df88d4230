"""The EMV tag dictionary (EMV Book 3 Annex A, Book 4, contactless kernel books): names and formats.

Formats: b binary, n numeric (BCD), cn compressed numeric, an/ans text, var template.
`SENSITIVE` tags never appear in clear in a trace or a log: the PAN is cut to its first
six and last four digits, everything else sensitive is replaced by its length only.
"""

from __future__ import annotations

from typing import NamedTuple


class Tag(NamedTuple):
    name: str
    format: str


TAGS: dict[int, Tag] = {
    0x42: Tag("Issuer Identification Number", "n"),
    0x4F: Tag("Application Identifier (AID) - card", "b"),
    0x50: Tag("Application Label", "ans"),
    0x56: Tag("Track 1 Data", "ans"),
    0x57: Tag("Track 2 Equivalent Data", "b"),
    0x5A: Tag("Application Primary Account Number (PAN)", "cn"),
    0x5F20: Tag("Cardholder Name", "ans"),
    0x5F24: Tag("Application Expiration Date", "n"),
    0x5F25: Tag("Application Effective Date", "n"),
    0x5F28: Tag("Issuer Country Code", "n"),
    0x5F2A: Tag("Transaction Currency Code", "n"),
    0x5F2D: Tag("Language Preference", "an"),
    0x5F30: Tag("Service Code", "n"),
    0x5F34: Tag("PAN Sequence Number", "n"),
    0x5F36: Tag("Transaction Currency Exponent", "n"),
    0x5F50: Tag("Issuer URL", "ans"),
    0x61: Tag("Application Template", "var"),
    0x6F: Tag("File Control Information (FCI) Template", "var"),
    0x70: Tag("READ RECORD Response Message Template", "var"),
    0x71: Tag("Issuer Script Template 1", "var"),
    0x72: Tag("Issuer Script Template 2", "var"),
    0x73: Tag("Directory Discretionary Template", "var"),
    0x77: Tag("Response Message Template Format 2", "var"),
    0x80: Tag("Response Message Template Format 1", "b"),
    0x82: Tag("Application Interchange Profile (AIP)", "b"),
    0x84: Tag("Dedicated File (DF) Name", "b"),
    0x87: Tag("Application Priority Indicator", "b"),
    0x88: Tag("Short File Identifier (SFI)", "b"),
    0x89: Tag("Authorisation Code", "ans"),
    0x8A: Tag("Authorisation Response Code", "an"),
    0x8C: Tag("Card Risk Management Data Object List 1 (CDOL1)", "b"),
    0x8D: Tag("Card Risk Management Data Object List 2 (CDOL2)", "b"),
    0x8E: Tag("Cardholder Verification Method (CVM) List", "b"),
    0x8F: Tag("Certification Authority Public Key Index", "b"),
    0x90: Tag("Issuer Public Key Certificate", "b"),
    0x91: Tag("Issuer Authentication Data", "b"),
    0x92: Tag("Issuer Public Key Remainder", "b"),
    0x93: Tag("Signed Static Application Data", "b"),
    0x94: Tag("Application File Locator (AFL)", "b"),
    0x95: Tag("Terminal Verification Results (TVR)", "b"),
    0x97: Tag("Transaction Certificate Data Object List (TDOL)", "b"),
    0x99: Tag("Transaction Personal Identification Number (PIN) Data", "b"),
    0x9A: Tag("Transaction Date", "n"),
    0x9B: Tag("Transaction Status Information (TSI)", "b"),
    0x9C: Tag("Transaction Type", "n"),
    0x9D: Tag("Directory Definition File (DDF) Name", "b"),
    0x9F01: Tag("Acquirer Identifier", "n"),
    0x9F02: Tag("Amount, Authorised (Numeric)", "n"),
    0x9F03: Tag("Amount, Other (Numeric)", "n"),
    0x9F06: Tag("Application Identifier (AID) - terminal", "b"),
    0x9F07: Tag("Application Usage Control", "b"),
    0x9F08: Tag("Application Version Number - card", "b"),
    0x9F09: Tag("Application Version Number - terminal", "b"),
    0x9F0B: Tag("Cardholder Name Extended", "ans"),
    0x9F0D: Tag("Issuer Action Code - Default", "b"),
    0x9F0E: Tag("Issuer Action Code - Denial", "b"),
    0x9F0F: Tag("Issuer Action Code - Online", "b"),
    0x9F10: Tag("Issuer Application Data", "b"),
    0x9F11: Tag("Issuer Code Table Index", "n"),
    0x9F12: Tag("Application Preferred Name", "ans"),
    0x9F13: Tag("Last Online ATC Register", "b"),
    0x9F14: Tag("Lower Consecutive Offline Limit", "b"),
    0x9F17: Tag("PIN Try Counter", "b"),
    0x9F1A: Tag("Terminal Country Code", "n"),
    0x9F1F: Tag("Track 1 Discretionary Data", "ans"),
    0x9F20: Tag("Track 2 Discretionary Data", "cn"),
    0x9F21: Tag("Transaction Time", "n"),
    0x9F23: Tag("Upper Consecutive Offline Limit", "b"),
    0x9F26: Tag("Application Cryptogram", "b"),
    0x9F27: Tag("Cryptogram Information Data", "b"),
    0x9F32: Tag("Issuer Public Key Exponent", "b"),
    0x9F33: Tag("Terminal Capabilities", "b"),
    0x9F34: Tag("Cardholder Verification Method (CVM) Results", "b"),
    0x9F35: Tag("Terminal Type", "n"),
    0x9F36: Tag("Application Transaction Counter (ATC)", "b"),
    0x9F37: Tag("Unpredictable Number", "b"),
    0x9F38: Tag("Processing Options Data Object List (PDOL)", "b"),
    0x9F40: Tag("Additional Terminal Capabilities", "b"),
    0x9F42: Tag("Application Currency Code", "n"),
    0x9F44: Tag("Application Currency Exponent", "n"),
    0x9F45: Tag("Data Authentication Code", "b"),
    0x9F46: Tag("ICC Public Key Certificate", "b"),
    0x9F47: Tag("ICC Public Key Exponent", "b"),
    0x9F48: Tag("ICC Public Key Remainder", "b"),
    0x9F49: Tag("Dynamic Data Authentication Data Object List (DDOL)", "b"),
    0x9F4A: Tag("Static Data Authentication Tag List", "b"),
    0x9F4B: Tag("Signed Dynamic Application Data", "b"),
    0x9F4C: Tag("ICC Dynamic Number", "b"),
    0x9F4D: Tag("Log Entry", "b"),
    0x9F4E: Tag("Merchant Name and Location", "ans"),
    0x9F66: Tag("Terminal Transaction Qualifiers (TTQ)", "b"),
    0x9F6B: Tag("Track 2 Data (contactless)", "b"),
    0x9F6C: Tag("Card Transaction Qualifiers (CTQ)", "b"),
    0x9F6E: Tag("Form Factor Indicator / Third Party Data", "b"),
    0x9F7C: Tag("Customer Exclusive Data", "b"),
    0xA5: Tag("File Control Information (FCI) Proprietary Template", "var"),
    0xBF0C: Tag("File Control Information (FCI) Issuer Discretionary Data", "var"),
}

# Never shown in clear (EMV Book 4 and PCI DSS): account number, track data, names, PIN data.
SENSITIVE = frozenset({0x56, 0x57, 0x5A, 0x5F20, 0x99, 0x9F0B, 0x9F1F, 0x9F20, 0x9F6B})


def name_of(tag: int) -> str:
    known = TAGS.get(tag)
    return known.name if known else "unknown tag"


def tag_hex(tag: int) -> str:
    return f"{tag:X}".rjust(2 * ((tag.bit_length() + 7) // 8 or 1), "0")
