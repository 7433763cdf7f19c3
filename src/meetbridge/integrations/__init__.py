"""Everything that talks to another platform: one package per platform."""
