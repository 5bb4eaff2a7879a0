"""One way to write a moment everywhere an operator reads one: the admin's own fields, its
lists and Recorder's pages (recordings.display.time_text) all write 2026-12-01 21:28:09 UTC,
with the zone (TIME_ZONE) named, since operators and Graph's logs may be in different ones."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i:s T"
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
