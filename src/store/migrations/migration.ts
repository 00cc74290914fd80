import type { Kysely } from "kysely";

export type Dialect = "sqlite" | "postgres";

/** A forward-only schema change. Versions are dense and ordered; never edit a released one. */
export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}
