/**
 * A batch of rows as a named table in SQL: `WITH v(id, …) AS (VALUES (…), …)`. With
 * `UPDATE … FROM v` (SQLite ≥ 3.33, PostgreSQL) a whole batch is one statement in both
 * dialects; the casts give the columns their types (a NULL in the first row stays typed).
 */
import { type RawBuilder, sql } from "kysely";

export type ColumnType = "bigint" | "integer" | "text" | "double precision";

export function valuesTable(
  name: string,
  columns: ReadonlyArray<readonly [column: string, type: ColumnType]>,
  rows: ReadonlyArray<readonly unknown[]>,
): RawBuilder<unknown> {
  const header = sql.raw(`${name}(${columns.map(([column]) => column).join(", ")})`);
  const values = sql.join(
    rows.map(
      (row) =>
        sql`(${sql.join(row.map((value, index) => sql`cast(${value} as ${sql.raw(columns[index]![1])})`))})`,
    ),
  );
  return sql`${header} as (values ${values})`;
}
