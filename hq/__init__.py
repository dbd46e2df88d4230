"""Head office: enrols terminals and receives their signed, hash-chained journal events (issue 8)."""
