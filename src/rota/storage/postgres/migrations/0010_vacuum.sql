-- Every claim and finish updates a run's row, so rota_runs gathers dead rows (and dead entries
-- in the claim index, which each claim steps over) at the rate of the drain. At PostgreSQL's
-- defaults autovacuum visits a table after a fifth of it is dead: 2 million dead rows beside
-- 10 million ended runs, by which time a claim takes 1.4x as long (benchmarks/table_health.py).
-- Here it visits after 1 % (plus 1,000 rows), and analyzes as often, so that the planner's
-- statistics follow a queue that fills and empties. Nothing changes where autovacuum is off.
ALTER TABLE rota_runs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.01
);
