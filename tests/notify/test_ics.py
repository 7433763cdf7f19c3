"""The UIDs meetbridge gives the events it puts in calendars, and telling them apart."""

from __future__ import annotations

import pytest

from meetbridge.notify.ics import booking_uid, meeting_uid, own_uid, request_uid


def test_the_uids_made_are_the_uids_read() -> None:
    assert booking_uid("b-1") == "booking-b-1@meetbridge"
    assert own_uid(booking_uid("b-1")) == ("booking", "b-1")
    assert meeting_uid("m-1") == "m-1@meetbridge"
    assert own_uid(meeting_uid("m-1")) == ("meeting", "m-1")
    assert request_uid("r-1") == "request-r-1@meetbridge"
    assert own_uid(request_uid("r-1")) == ("request", "r-1")


@pytest.mark.parametrize(
    "uid",
    [
        *("", "dentist", "@meetbridge", "booking-@meetbridge", "request-@meetbridge"),
        *("x@meetbridge.example", "x@other"),
    ],
)
def test_other_uids_are_not_ours(uid: str) -> None:
    assert own_uid(uid) is None
