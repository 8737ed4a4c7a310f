"""Date, time and number formats of the staff's pages (settings.FORMAT_MODULE_PATH).

One date-time style everywhere: UTC (settings.TIME_ZONE), 24 hours, ISO order
(2026-11-27 07:00); dates typed as yyyy-mm-dd. Django's English formats would show
"Nov. 27, 2026, 7 a.m." and take mm/dd/yyyy first.
"""
