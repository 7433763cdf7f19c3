"""Pure scheduling helpers: time zones, wall-clock times, intervals. No I/O and no meetbridge
imports, so everything here can be property-tested; the modules above pass in and get back
aware datetimes and plain data."""
