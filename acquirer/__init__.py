"""The reference acquirer host: ISO 8583 server, issuer cryptography and rules the terminal is tested against."""
