/**
 * A batch of rows as a named table in SQL, `WITH v(id, …) AS (SELECT …)`, sent as one JSON
 * parameter (an array of row arrays) and unpacked by the database (`json_array_elements` on
 * PostgreSQL, `json_each` on SQLite). With `UPDATE … FROM v` (SQLite ≥ 3.33, PostgreSQL) or
 * `INSERT … SELECT … FROM v` a whole batch is one statement in both dialects, with one bound
 * parameter and a text that does not depend on the batch's size (not a placeholder per
 * value); the casts give the columns their types (a JSON null stays a typed NULL).
 */
import { type RawBuilder, sql } from "kysely";

export type ColumnType = "bigint" | "integer" | "text" | "double precision";

export function jsonTable(
  dialect: "sqlite" | "postgres",
  name: string,
  columns: ReadonlyArray<readonly [column: string, type: ColumnType]>,
  rows: ReadonlyArray<readonly unknown[]>,
): RawBuilder<unknown> {
  const header = sql.raw(`${name}(${columns.map(([column]) => column).join(", ")})`);
  const fields = sql.raw(
    columns.map(([, type], index) => `cast(e.value ->> ${index} as ${type})`).join(", "),
  );
  const json = JSON.stringify(rows);
  const source =
    dialect === "postgres"
      ? sql`json_array_elements(${json}::json) as e(value)`
      : sql`json_each(${json}) as e`;
  return sql`${header} as (select ${fields} from ${source})`;
}
