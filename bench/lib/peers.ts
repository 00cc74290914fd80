/**
 * The same drain done by two PostgreSQL job queues (graphile-worker, pg-boss) and by a bare
 * SKIP LOCKED loop: `runs` no-op jobs inserted up front, then `workers` runners, each with its
 * own connection pool (10 connections, like a loopd Store) and `concurrency` jobs in flight.
 */
import pg from "pg";
import {
  dropSchema,
  log,
  PG_URL,
  pollUntil,
  type Rep,
  schemaName,
  startTiming,
  withAdmin,
} from "./common.js";

export interface PeerOptions {
  workers: number;
  runs: number;
  concurrency: number;
}

const POOL_SIZE = 10;
const TIMEOUT_MS = 300_000;

/** graphile-worker: `addJobs` through WorkerUtils, then `run()` per worker with a no-op task. */
export async function graphileDrain(options: PeerOptions): Promise<Rep> {
  const { makeWorkerUtils, run, Logger } = await import("graphile-worker");
  const schema = schemaName("gw");
  const logger = new Logger(() => () => {});
  const utils = await makeWorkerUtils({ connectionString: PG_URL, schema, logger });
  const pools: pg.Pool[] = [];
  try {
    await utils.migrate();
    const base = Date.now() - options.runs - 60_000;
    for (let start = 0; start < options.runs; start += 2000) {
      const specs = [];
      for (let k = start; k < Math.min(options.runs, start + 2000); k++) {
        specs.push({ identifier: "noop", payload: {}, runAt: new Date(base + k), maxAttempts: 1 });
      }
      await utils.addJobs(specs);
    }
    await withAdmin((client) => client.query(`analyze "${schema}"._private_jobs`));
    for (let index = 0; index < options.workers; index++) {
      const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_SIZE });
      // graphile-worker insists on error handlers for idle pool clients and checked-out clients.
      pool.on("error", () => {});
      pool.on("connect", (client) => client.on("error", () => {}));
      pools.push(pool);
    }
    const counter = new pg.Client({ connectionString: PG_URL });
    await counter.connect();
    const timing = startTiming(options.runs);
    const runners = await Promise.all(
      pools.map((pgPool) =>
        run({
          pgPool,
          schema,
          logger,
          concurrency: options.concurrency,
          noHandleSignals: true,
          taskList: { noop: async () => {} },
        }),
      ),
    );
    // A job is done when its row is gone (graphile-worker deletes completed jobs).
    await pollUntil(
      async () => {
        const { rows } = await counter.query(`select count(*)::int as left from "${schema}"._private_jobs`);
        return rows[0].left === 0;
      },
      { everyMs: 50, timeoutMs: TIMEOUT_MS, what: "graphile-worker drain" },
    );
    const rep = timing.stop();
    await counter.end();
    await Promise.all(runners.map((runner) => runner.stop()));
    return rep;
  } finally {
    await utils.release();
    await Promise.all(pools.map((pool) => pool.end()));
    await dropSchema(schema);
  }
}

/**
 * pg-boss 10: `insert` in batches, then per worker one PgBoss instance with `work()` fetching
 * `batchSize` = concurrency jobs at once (pg-boss 10 has no other concurrency knob besides
 * calling work() again). Its worker sleeps `pollingIntervalSeconds` (minimum 0.5 s) after every
 * fetch; with `refetch` the handler calls the public `notifyWorker(id)` when its batch was full,
 * so the worker fetches again at once, as graphile-worker and loopd do.
 */
export async function pgBossDrain(options: PeerOptions & { refetch: boolean }): Promise<Rep> {
  const { default: PgBoss } = await import("pg-boss");
  const schema = schemaName("boss");
  const queue = "noop";
  const common = {
    connectionString: PG_URL,
    schema,
    max: POOL_SIZE,
    supervise: false,
    schedule: false,
    migrate: true,
  };
  const admin = new PgBoss(common);
  admin.on("error", (error) => log(`pg-boss error: ${error.message}`));
  const bosses: InstanceType<typeof PgBoss>[] = [];
  try {
    await admin.start();
    await admin.createQueue(queue);
    const base = Date.now() - options.runs - 60_000;
    for (let start = 0; start < options.runs; start += 2000) {
      const jobs = [];
      for (let k = start; k < Math.min(options.runs, start + 2000); k++) {
        jobs.push({ name: queue, data: {}, startAfter: new Date(base + k), retryLimit: 0 });
      }
      await admin.insert(jobs);
    }
    await withAdmin((client) => client.query(`analyze "${schema}".job`));
    for (let index = 0; index < options.workers; index++) {
      const boss = new PgBoss({ ...common, migrate: false });
      boss.on("error", (error) => log(`pg-boss error: ${error.message}`));
      await boss.start();
      bosses.push(boss);
    }
    const counter = new pg.Client({ connectionString: PG_URL });
    await counter.connect();
    const timing = startTiming(options.runs);
    for (const boss of bosses) {
      let id = "";
      id = await boss.work(
        queue,
        { batchSize: options.concurrency, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          await Promise.all(jobs.map(async () => {}));
          if (options.refetch && jobs.length === options.concurrency && id) boss.notifyWorker(id);
        },
      );
    }
    await pollUntil(
      async () => {
        const { rows } = await counter.query(
          `select count(*)::int as done from "${schema}".job where name = $1 and state = 'completed'`,
          [queue],
        );
        return rows[0].done === options.runs;
      },
      { everyMs: 50, timeoutMs: TIMEOUT_MS, what: "pg-boss drain" },
    );
    const rep = timing.stop();
    await counter.end();
    return rep;
  } finally {
    await Promise.all(bosses.map((boss) => boss.stop({ graceful: false, wait: true, close: true })));
    await admin.stop({ graceful: false, wait: true, close: true });
    await dropSchema(schema);
  }
}

/**
 * The ceiling of this design: one plain table; each worker claims up to `concurrency` rows
 * with UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING, runs the
 * no-ops, and completes the batch with one UPDATE.
 */
export async function bareDrain(options: PeerOptions): Promise<Rep> {
  const schema = schemaName("bare");
  const setup = new pg.Client({ connectionString: PG_URL });
  await setup.connect();
  const clients: pg.Client[] = [];
  try {
    await setup.query(`create schema "${schema}"`);
    await setup.query(`create table "${schema}".jobs (
      id bigserial primary key, due_at bigint not null, status text not null default 'queued',
      worker text, started_at bigint, finished_at bigint)`);
    await setup.query(`create index on "${schema}".jobs (status, due_at)`);
    const base = Date.now() - options.runs - 60_000;
    await setup.query(
      `insert into "${schema}".jobs (due_at) select $1::bigint + g from generate_series(0, $2::int - 1) g`,
      [base, options.runs],
    );
    await setup.query(`analyze "${schema}".jobs`);
    for (let index = 0; index < options.workers; index++) {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      clients.push(client);
    }
    const noop = async () => {};
    const timing = startTiming(options.runs);
    const done = await Promise.all(
      clients.map(async (client, index) => {
        let count = 0;
        for (;;) {
          const { rows } = await client.query<{ id: string }>(
            `update "${schema}".jobs set status = 'running', worker = $1, started_at = $2
             where id in (select id from "${schema}".jobs where status = 'queued' and due_at <= $2
                          order by due_at limit $3 for update skip locked)
             returning id`,
            [`w${index}`, Date.now(), options.concurrency],
          );
          if (rows.length === 0) return count;
          await Promise.all(rows.map(noop));
          await client.query(
            `update "${schema}".jobs set status = 'succeeded', finished_at = $1 where id = any($2::bigint[])`,
            [Date.now(), rows.map((row) => row.id)],
          );
          count += rows.length;
        }
      }),
    );
    const rep = timing.stop();
    const total = done.reduce((sum, count) => sum + count, 0);
    const { rows } = await setup.query(
      `select count(*)::int as n from "${schema}".jobs where status = 'succeeded'`,
    );
    if (total !== options.runs || rows[0].n !== options.runs) {
      throw new Error(`bare loop: ${total} claimed, ${rows[0].n} succeeded of ${options.runs}`);
    }
    return rep;
  } finally {
    await Promise.all(clients.map((client) => client.end()));
    await setup.end();
    await dropSchema(schema);
  }
}
