"""Tests of monitor.parse."""
