"""Tests of monitor.notify."""
