//! Integration tests for issue 5: restore, db recreate, backup fetch-dump, logs, tunnel, shell, ecs, stats.
