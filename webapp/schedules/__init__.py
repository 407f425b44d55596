"""On-call schedules: editing rotations and overrides, iCalendar feeds, cover requests, shift
reminders and handoff posts, `@bot oncall`. The arithmetic of who is on call lives below, in
webapp/oncall/."""
