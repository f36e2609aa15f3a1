"""Prefect, thin: the flows (``ingest``, ``open-cycle``, ``sweep``) call ``models`` and
``notifications``; ``flows.deployments`` declares one deployment per approved obligation
plus the sweep's and the ingest's and syncs them idempotently; ``flows.service`` runs the
service on one machine. Flows never import the portal: ``hanbaocao up`` (the CLI) hands
the portal's server to ``flows.service``."""
