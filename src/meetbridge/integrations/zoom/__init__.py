"""Zoom: the client, OAuth, tokens, limits, install flows, webhooks and revocations."""
