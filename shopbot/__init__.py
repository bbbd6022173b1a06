"""shopbot."""
