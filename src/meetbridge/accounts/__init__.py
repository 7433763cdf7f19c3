"""Members, sign-in, sessions and API tokens."""
