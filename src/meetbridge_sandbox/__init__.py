"""A Zoom-compatible sandbox: an HTTP server that behaves like Zoom on the wire (OAuth, REST
under /v2, rate limits, webhooks, consent and "Added Apps" pages), plus a control API under
/_sandbox for tests. meetbridge never imports this package; it only talks to it over HTTP."""
