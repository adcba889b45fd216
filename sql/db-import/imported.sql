-- The imported table: what stays of the last import (an incremental
-- import's earlier rows, less those a lastmodified import replaces) and the
-- rows read from the source database now, split by key on the executors.
SELECT * FROM previous_rows
UNION ALL
SELECT * FROM db_rows
