"""On-call schedules: rotations, overrides, who is on call, iCalendar feeds."""
