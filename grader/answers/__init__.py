"""Written answers: find them in whatever students hand in, and score them against the rubric."""
