"""Reading results files and turning them into matrices, reports, diffs and draft profiles."""
