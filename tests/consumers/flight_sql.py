"""Runs SQL on a fletch scheduler through Arrow Flight SQL with the ADBC
driver a notebook would use (adbc-driver-flightsql), and prints what came back.

usage: flight_sql.py URI REQUEST_JSON

With FLIGHT_SQL_TOKEN set, the connection authenticates as a notebook's
would: the Flight handshake with the scheduler's token (its --auth-token-file)
as the password.

REQUEST_JSON is {"setup": [sql], "queries": {name: sql}, "failing": {name: sql}}.
Setup statements (DDL) run first on one connection. Prints JSON:
{"tables": [table names from the catalog],
 "results": {name: {"schema": [[column, arrow type]], "rows": [[...]]}},
 "errors": {name: message}} where every "failing" statement must fail.
"""

import json
import os
import sys

import adbc_driver_flightsql.dbapi as flightsql


def table_names(conn):
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    return sorted(
        table["table_name"]
        for catalog in objects
        for schema in catalog["catalog_db_schemas"] or []
        for table in schema["db_schema_tables"] or []
    )


def main(uri, request):
    out = {"results": {}, "errors": {}}
    token = os.environ.get("FLIGHT_SQL_TOKEN")
    db_kwargs = {"username": "notebook", "password": token} if token else {}
    with flightsql.connect(uri, db_kwargs=db_kwargs, autocommit=True) as conn:
        with conn.cursor() as cur:
            for sql in request.get("setup", []):
                cur.execute(sql)
            out["tables"] = table_names(conn)
            for name, sql in request.get("queries", {}).items():
                cur.execute(sql)
                table = cur.fetch_arrow_table()
                out["results"][name] = {
                    "schema": [[f.name, str(f.type)] for f in table.schema],
                    "rows": [list(r.values()) for r in table.to_pylist()],
                }
            for name, sql in request.get("failing", {}).items():
                try:
                    if "?" in sql:
                        cur.execute(sql, parameters=(1,))
                    else:
                        cur.execute(sql)
                    cur.fetchall()
                except Exception as e:  # the driver's errors are all we need to see
                    out["errors"][name] = str(e)
                else:
                    sys.exit(f"`{sql}` succeeded but should fail")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
