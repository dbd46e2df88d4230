"""Upstream sync: the terminal sends its journal to head office through the outbox (docs/sync.md)."""
