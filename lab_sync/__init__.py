"""lab_sync."""
