// Newest-first keyset pages of handoffs and runs on PostgreSQL, the same shapes as
// SQLite's lists.ts: every shape walks an index ending in (created_at, id) and reads at
// most limit+1 rows (the extra one only tells whether there is a next page). Cursors are
// the shared format of store/cursor.ts.

import type { Pool } from 'pg';
import type { Handoff, Run } from '../../domain/types.ts';
import { decodeCursor, pageOf, type ListRow } from '../cursor.ts';
import type { HandoffQuery, Page, RunQuery } from '../store.ts';

/** What a list reads: the table, the expression of the record's body and the id column. */
interface Source {
  from: string;
  body: string;
  id: string;
}

const HANDOFFS: Source = { from: 'handoffs', body: 'body', id: 'id' };
const RUNS: Source = { from: 'runs', body: 'body', id: 'id' };
const RUN_PARTIES: Source = { from: 'run_parties', body: '(SELECT body FROM runs WHERE runs.id = run_parties.run_id)', id: 'run_id' };

const order = (id: string): string => `ORDER BY created_at DESC, ${id} DESC`;

export class PgListQueries {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  handoffs(query: HandoffQuery): Promise<Page<Handoff>> {
    const filter = new Filter();
    filter.eq('to_contractor', query.to_contractor);
    filter.eq('from_contractor', query.from_contractor);
    filter.eq('status', query.status);
    filter.eq('task_id', query.task_id);
    filter.eq('run_id', query.run_id);
    if (query.involving === undefined || query.involving === null) return this.page(HANDOFFS, filter, query);
    const who = filter.param(query.involving);
    // Two index walks (sent, received) merged; a self-addressed handoff comes from the first only.
    return this.page(HANDOFFS, filter, query, [
      `from_contractor = ${who}`,
      `to_contractor = ${who} AND from_contractor <> ${who}`,
    ]);
  }

  runs(query: RunQuery): Promise<Page<Run>> {
    const filter = new Filter();
    filter.eq('workflow_id', query.workflow_id);
    filter.eq('status', query.status);
    if (query.involving === undefined || query.involving === null) return this.page(RUNS, filter, query);
    // run_parties carries the runs' list columns (run-parties.ts): one index walk, the body joined per row of the page.
    filter.eq('contractor', query.involving);
    return this.page(RUN_PARTIES, filter, query);
  }

  /** `branches` are OR-ed alternatives, each walked on its own index and merged. */
  private async page<T>(
    source: Source,
    filter: Filter,
    query: { cursor?: string; limit: number },
    branches?: string[],
  ): Promise<Page<T>> {
    const limit = Math.max(1, Math.floor(query.limit));
    if (query.cursor !== undefined && query.cursor !== null) {
      const position = decodeCursor(query.cursor);
      filter.conditions.push(`(created_at, ${source.id}) < (${filter.param(position.created_at)}::bigint, ${filter.param(position.id)})`);
    }
    const limitParam = filter.param(limit + 1);
    const select = (extra: string[]) => {
      const all = [...extra, ...filter.conditions];
      const where = all.length > 0 ? ` WHERE ${all.join(' AND ')}` : '';
      return `SELECT ${source.body} AS body, created_at, ${source.id} AS id FROM ${source.from}${where} ${order(source.id)} LIMIT ${limitParam}`;
    };
    const sql = branches
      ? `SELECT body, created_at, id FROM (${branches.map((b) => `(${select([b])})`).join(' UNION ALL ')}) AS merged ${order('id')} LIMIT ${limitParam}`
      : select([]);
    const { rows } = await this.pool.query<ListRow>(sql, filter.params);
    return pageOf<T>(rows, limit);
  }
}

class Filter {
  readonly conditions: string[] = [];
  readonly params: (string | number)[] = [];

  /** Adds a parameter and returns its placeholder. */
  param(value: string | number): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Column names are fixed by the callers above, never taken from input. */
  eq(column: string, value: string | null | undefined): void {
    if (value === undefined || value === null) return;
    this.conditions.push(`${column} = ${this.param(value)}`);
  }
}
