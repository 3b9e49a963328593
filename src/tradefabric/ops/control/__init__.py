"""Operate a running node: one control service (``service``) behind the HTTP API and CLI."""
