"""Test harness for the real PC/SC path: pyscard → pcscd → vpcd → an emulated card of ours.

pcscd.py runs a private pcscd, vpcd_card.py plays a card in a vpcd slot, fixtures.py
gives pytest fixtures over both.
"""
