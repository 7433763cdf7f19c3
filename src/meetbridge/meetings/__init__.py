"""Zoom meetings: the public service modules call, and the lifecycle engine behind it."""
