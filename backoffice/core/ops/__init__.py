"""What operators read and run: health and readiness, metrics, JSON logs, backups and recovery,
and the apps' bootstrap hooks."""
