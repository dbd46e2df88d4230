"""Emulated EMV cards and the test key material they are personalised with."""
