"""Reports for tools outside Centralino, made from the control plane's own writes."""
