"""The lab's rubrics (TOML), shipped with the grader as package data."""
