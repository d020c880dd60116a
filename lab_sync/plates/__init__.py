"""Raw plate-reader data to fitted potencies: wells, plate QC, dose-response fits, curve classes."""
