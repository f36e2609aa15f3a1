"""Apprise messages, the Zalo plugin and the outbox dispatcher (issue 4)."""
