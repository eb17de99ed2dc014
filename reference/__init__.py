"""The lab's reference solution and model answers, shipped with the grader as package data."""
