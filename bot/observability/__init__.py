"""What operators see: Prometheus metrics, structured question logs, interaction records."""
