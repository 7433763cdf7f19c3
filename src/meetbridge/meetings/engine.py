"""Where the meetings service lived before it became a package. Kept so that code written
against the old path keeps importing while the faces move; new code imports
`meetbridge.meetings.service` and `meetbridge.meetings.inputs`."""

from meetbridge.meetings.inputs import MeetingChanges, MeetingInput
from meetbridge.meetings.lifecycle import WORK_TASK
from meetbridge.meetings.reconcile import RECONCILE_TASK
from meetbridge.meetings.service import Meetings

__all__ = ["RECONCILE_TASK", "WORK_TASK", "MeetingChanges", "MeetingInput", "Meetings"]
