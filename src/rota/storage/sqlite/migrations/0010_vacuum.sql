-- PostgreSQL's 0010 tunes autovacuum for rota_runs; SQLite has no such setting (a deleted row's
-- page is reused in place). Kept so that both backends count the same schema versions.
SELECT 1;
