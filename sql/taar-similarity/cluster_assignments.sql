-- cluster_assignments: every clustered client's cluster (--clusters-table).
SELECT client_id, prediction FROM clustered
