// Newest-first keyset pages of handoffs and runs. The SQL depends on which filters are
// given, so each shape is prepared on first use and kept. Every shape walks an index that
// ends in (created_at, id) and reads at most limit+1 rows (the extra one only tells
// whether there is a next page).

import type Database from 'better-sqlite3';
import type { Handoff, Run } from '../../domain/types.ts';
import { decodeCursor, pageOf, type ListRow } from '../cursor.ts';
import type { HandoffQuery, Page, RunQuery } from '../store.ts';

export type Params = Record<string, string | number>;

/** Prepared list statements, one per distinct SQL text (the filters decide the text). */
export class ListStatements {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<[Params], ListRow>>();

  constructor(db: Database.Database) {
    this.db = db;
  }

  get(sql: string): Database.Statement<[Params], ListRow> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<[Params], ListRow>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** What a list reads: the table, the expression of the record's body and the id column. */
interface Source {
  from: string;
  body: string;
  id: string;
}

const HANDOFFS: Source = { from: 'handoffs', body: 'body', id: 'id' };
const RUNS: Source = { from: 'runs', body: 'body', id: 'id' };
const RUN_PARTIES: Source = { from: 'run_parties', body: '(SELECT body FROM runs WHERE runs.id = run_parties.run_id)', id: 'run_id' };

const order = (id: string): string => `ORDER BY created_at DESC, ${id} DESC LIMIT @limit`;

export class ListQueries {
  private readonly statements: ListStatements;

  constructor(db: Database.Database) {
    this.statements = new ListStatements(db);
  }

  handoffs(query: HandoffQuery): Page<Handoff> {
    const filter = new Filter();
    filter.eq('to_contractor', query.to_contractor);
    filter.eq('from_contractor', query.from_contractor);
    filter.eq('status', query.status);
    filter.eq('task_id', query.task_id);
    filter.eq('run_id', query.run_id);
    if (query.involving === undefined || query.involving === null) return this.page(HANDOFFS, filter, query);
    filter.params.involving = query.involving;
    // Two index walks (sent, received) merged; a self-addressed handoff comes from the first only.
    return this.page(HANDOFFS, filter, query, [
      'from_contractor = @involving',
      'to_contractor = @involving AND from_contractor <> @involving',
    ]);
  }

  runs(query: RunQuery): Page<Run> {
    const filter = new Filter();
    filter.eq('workflow_id', query.workflow_id);
    filter.eq('status', query.status);
    if (query.involving === undefined || query.involving === null) return this.page(RUNS, filter, query);
    // run_parties carries the runs' list columns (run-parties.ts): one index walk, the body joined per row of the page.
    filter.eq('contractor', query.involving);
    return this.page(RUN_PARTIES, filter, query);
  }

  /** `branches` are OR-ed alternatives, each walked on its own index and merged. */
  private page<T>(
    source: Source,
    filter: Filter,
    query: { cursor?: string; limit: number },
    branches?: string[],
  ): Page<T> {
    const limit = Math.max(1, Math.floor(query.limit));
    const { conditions, params } = filter;
    if (query.cursor !== undefined && query.cursor !== null) {
      const position = decodeCursor(query.cursor);
      conditions.push(`(created_at, ${source.id}) < (@cursor_at, @cursor_id)`);
      params.cursor_at = position.created_at;
      params.cursor_id = position.id;
    }
    params.limit = limit + 1;
    const select = (extra: string[]) => {
      const all = [...extra, ...conditions];
      const where = all.length > 0 ? ` WHERE ${all.join(' AND ')}` : '';
      return `SELECT ${source.body} AS body, created_at, ${source.id} AS id FROM ${source.from}${where} ${order(source.id)}`;
    };
    const sql = branches
      ? `SELECT body, created_at, id FROM (${branches.map((b) => `SELECT * FROM (${select([b])})`).join(' UNION ALL ')}) ${order('id')}`
      : select([]);
    return pageOf<T>(this.statements.get(sql).all(params), limit);
  }
}

class Filter {
  readonly conditions: string[] = [];
  readonly params: Params = {};

  /** Column names are fixed by the callers above, never taken from input. */
  eq(column: string, value: string | null | undefined): void {
    if (value === undefined || value === null) return;
    this.conditions.push(`${column} = @${column}`);
    this.params[column] = value;
  }
}
