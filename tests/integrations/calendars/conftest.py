from tests.calendar_servers import feed_server, radicale  # noqa: F401
