"""Tests of monitor.api (open_monitor and the Monitor it returns)."""
