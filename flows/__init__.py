"""Prefect flows and deployments (issue 5)."""
