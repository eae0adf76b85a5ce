"""Tests of monitor.config."""
