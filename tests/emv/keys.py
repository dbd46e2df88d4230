"""Test key material shared by the emulated cards and the reference acquirer host.

Scheme test cards and keys are not public, so the suite makes its own: issuer master
keys (double-length DES, as pyemv takes them) for application cryptograms (ARQC/ARPC,
Visa CVN 10, Mastercard CVN 16) and the test PANs whose behaviour the acquirer
simulator's rules key on. RSA keys for offline data authentication (test CA, issuer,
ICC) live in tests/fixtures/emv/ as PEM files. None of this is a real key.
"""

from __future__ import annotations

from pyemv import cvn

IMK_AC = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
IMK_SMI = bytes.fromhex("11111111111111112222222222222222")
IMK_SMC = bytes.fromhex("33333333333333334444444444444444")
MASTERCARD_RID = bytes.fromhex("A000000004")

# Test PANs (Luhn-valid) and what the reference acquirer does with them.
APPROVE = "4761739001010119"  # approved below the decline amount
DECLINE = "4761739001010127"  # always "05 do not honour"
REFERRAL = "4761739001010135"  # "01 refer to card issuer"
MASTERCARD = "5413330089010418"  # approved; Mastercard-style contactless and CVN 16
EXPIRED = "4761739001010143"  # a card whose application expired
PIN_BLOCKED = "4761739001010150"  # PIN try counter at 0
DECLINE_ABOVE = 500_000  # the acquirer declines amounts above this (minor units) with "51 insufficient funds"


def card_cryptography(aid: bytes, pan: str, psn: str) -> cvn.VisaCVN10 | cvn.MasterCardCVN16:
    """The card's cryptogram version, as acquirer/issuer.py picks it by RID: Mastercard CVN 16, else Visa CVN 10."""
    version = cvn.MasterCardCVN16 if aid.startswith(MASTERCARD_RID) else cvn.VisaCVN10
    return version(IMK_AC, IMK_SMI, IMK_SMC, pan, psn)
