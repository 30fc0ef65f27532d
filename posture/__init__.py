"""Posture's estate: subscriptions, resources, workspaces and import jobs, and the importers."""
