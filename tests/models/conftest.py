"""The database fixtures live in tests/conftest.py (shared with the notification tests)."""
