"""The back office: pages a manager opens on a phone, tablet or laptop, served by the daemon beside its API."""
