// Workflow definitions: validation against the JSON Schema in
// templates/definitions/workflow-definition.schema.json, the checks a schema cannot
// express, and small helpers the run engine needs (rollback entries, phase deadlines,
// duration strings).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { DefinitionAction, DefinitionPhase, WorkflowDefinition } from './types.ts';

/** One problem with a definition; `path` is a JSON pointer from the root ("" is the root itself). */
export interface DefinitionError {
  path: string;
  message: string;
}

export type DefinitionValidation =
  | { ok: true; definition: WorkflowDefinition }
  | { ok: false; errors: DefinitionError[] };

const SCHEMA_RELATIVE = join('templates', 'definitions', 'workflow-definition.schema.json');

/**
 * Finds the repository directory holding templates/definitions by walking up from this
 * module: the same answer from service/src/domain/ (run from source) and from
 * service/dist/domain/ (compiled).
 */
function findTemplatesRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, SCHEMA_RELATIVE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`definitions: ${SCHEMA_RELATIVE} not found above ${dirname(fileURLToPath(import.meta.url))}`);
    }
    dir = parent;
  }
}

const TEMPLATES_ROOT = findTemplatesRoot();

/** Absolute path of the directory holding the shipped workflow templates and the schema. */
export const DEFINITIONS_DIR: string = join(TEMPLATES_ROOT, 'templates', 'definitions');

/** Absolute path of the workflow definition JSON Schema. */
export const DEFINITION_SCHEMA_PATH: string = join(TEMPLATES_ROOT, SCHEMA_RELATIVE);

/** The parsed JSON Schema (e.g. for serving it to clients). Do not mutate. */
export const DEFINITION_SCHEMA: Record<string, unknown> = JSON.parse(readFileSync(DEFINITION_SCHEMA_PATH, 'utf8'));

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateSchema = ajv.compile(DEFINITION_SCHEMA);

// Messages for pattern failures, keyed by the $defs entry whose pattern failed.
const PATTERN_MESSAGES: Record<string, string> = {
  slug: 'must be a slug: lowercase letters, digits and dashes, starting with a letter or digit',
  identifier: 'must be lowercase letters, digits, dashes and underscores, starting with a letter or digit',
  semver: 'must be a semantic version such as 1.0.0',
  duration: 'must be a duration such as 45s, 30m, 2h or 1h30m',
  actionName: 'must be a snake_case verb such as clone_vm',
};

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The value at a JSON pointer, or undefined. */
function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let node: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[unescapePointerToken(raw)];
  }
  return node;
}

function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function fromAjv(error: ErrorObject, input: unknown): DefinitionError {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const field = String(params['missingProperty']);
      return { path: `${path}/${escapePointerToken(field)}`, message: `missing required field ${quote(field)}` };
    }
    case 'additionalProperties': {
      const field = String(params['additionalProperty']);
      const hint = path === '' ? ' (extension fields must start with "x-")' : '';
      return { path: `${path}/${escapePointerToken(field)}`, message: `unknown field ${quote(field)}${hint}` };
    }
    case 'pattern': {
      const def = /^#\/\$defs\/([^/]+)\/pattern$/.exec(error.schemaPath)?.[1];
      const message = (def !== undefined ? PATTERN_MESSAGES[def] : undefined) ?? `must match ${String(params['pattern'])}`;
      return { path, message };
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(quote).join(', ');
      return { path, message: `must be one of ${allowed}` };
    }
    case 'uniqueItems': {
      const i = Number(params['i']);
      const j = Number(params['j']);
      const list = valueAt(input, path);
      const repeated = Array.isArray(list) ? list[i] : undefined;
      return { path, message: `must not repeat ${quote(repeated)} (items ${j} and ${i})` };
    }
    case 'minItems':
      if (params['limit'] === 1) return { path, message: 'must not be empty' };
      return { path, message: error.message ?? 'has too few items' };
    case 'minLength':
      if (params['limit'] === 1) return { path, message: 'must not be empty' };
      return { path, message: error.message ?? 'is too short' };
    case 'maxLength':
      return { path, message: `must be at most ${String(params['limit'])} characters` };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

// ---------------------------------------------------------------- semantic checks

// These run whether or not the schema passed, so a client sees every problem at once;
// hence they look at the raw input defensively instead of trusting the types.

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function records(value: unknown): [number, Record<string, unknown>][] {
  if (!Array.isArray(value)) return [];
  const out: [number, Record<string, unknown>][] = [];
  value.forEach((item, index) => {
    if (isRecord(item)) out.push([index, item]);
  });
  return out;
}

function semanticErrors(input: unknown): DefinitionError[] {
  if (!isRecord(input)) return [];
  const errors: DefinitionError[] = [];
  const contractors = new Set(Array.isArray(input['contractors']) ? input['contractors'].filter((c) => typeof c === 'string') : []);
  const phases = records(input['phases']);

  const phaseIds = new Map<string, string>(); // phase_id -> path of its first use
  const actionIds = new Map<string, string>(); // action_id -> path of its first use

  const checkActions = (list: unknown, base: string): void => {
    for (const [index, action] of records(list)) {
      const id = action['action_id'];
      if (typeof id !== 'string') continue;
      const path = `${base}/${index}/action_id`;
      const first = actionIds.get(id);
      if (first !== undefined) errors.push({ path, message: `duplicate action_id ${quote(id)} (first used at ${first})` });
      else actionIds.set(id, path);
    }
  };

  for (const [index, phase] of phases) {
    const base = `/phases/${index}`;
    const id = phase['phase_id'];
    if (typeof id === 'string') {
      const first = phaseIds.get(id);
      if (first !== undefined) {
        errors.push({ path: `${base}/phase_id`, message: `duplicate phase_id ${quote(id)} (first used at ${first})` });
      } else {
        phaseIds.set(id, `${base}/phase_id`);
      }
    }
    const contractor = phase['contractor'];
    if (typeof contractor === 'string' && !contractors.has(contractor)) {
      errors.push({ path: `${base}/contractor`, message: `contractor ${quote(contractor)} is not listed in contractors` });
    }
    const handoffTo = phase['handoff_to'];
    if (typeof handoffTo === 'string' && !contractors.has(handoffTo)) {
      errors.push({ path: `${base}/handoff_to`, message: `contractor ${quote(handoffTo)} is not listed in contractors` });
    }
    checkActions(phase['actions'], `${base}/actions`);
    checkActions(phase['rollback'], `${base}/rollback`);
  }

  const procedure = input['rollback_procedure'];
  if (isRecord(procedure) && Array.isArray(procedure['phases'])) {
    const named = new Map<string, string>(); // phase_id -> path of the entry that named it
    procedure['phases'].forEach((entry: unknown, index: number) => {
      if (typeof entry !== 'string') return;
      const path = `/rollback_procedure/phases/${index}`;
      const target = resolveEntry(phaseIds, entry);
      if (target === null) {
        errors.push({ path, message: `${quote(entry)} names no phase (expected a phase_id or "<phase_id>-rollback")` });
        return;
      }
      const first = named.get(target);
      if (first !== undefined) {
        errors.push({ path, message: `phase ${quote(target)} is already named at ${first}` });
      } else {
        named.set(target, path);
      }
    });
  }
  return errors;
}

function resolveEntry(phaseIds: { has(id: string): boolean }, entry: string): string | null {
  if (phaseIds.has(entry)) return entry;
  const suffix = '-rollback';
  if (entry.endsWith(suffix)) {
    const id = entry.slice(0, -suffix.length);
    if (phaseIds.has(id)) return id;
  }
  return null;
}

// ---------------------------------------------------------------- public API

/**
 * Validates a workflow definition: the JSON Schema first, then unique phase and action ids,
 * contractors and handoff targets listed in `contractors`, and rollback entries that each
 * name a distinct phase. Errors come in document order for the schema, then the semantic ones.
 */
export function validateDefinition(input: unknown): DefinitionValidation {
  const errors: DefinitionError[] = [];
  if (!validateSchema(input)) {
    const seen = new Set<string>();
    for (const error of validateSchema.errors ?? []) {
      const mapped = fromAjv(error, input);
      const key = `${mapped.path}\u0000${mapped.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      errors.push(mapped);
    }
  }
  errors.push(...semanticErrors(input));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, definition: input as WorkflowDefinition };
}

/**
 * The phase_id a rollback_procedure entry names: an exact phase_id wins, otherwise
 * "<phase_id>-rollback" names <phase_id>. Null when it names no phase.
 */
export function resolveRollbackEntry(definition: WorkflowDefinition, entry: string): string | null {
  const ids = new Set(definition.phases.map((phase) => phase.phase_id));
  return resolveEntry(ids, entry);
}

/**
 * The phase's deadline in seconds: its own `timeout` when set, otherwise the sum of its
 * actions' timeouts when every action has one. Null when neither gives a deadline,
 * including a phase without actions (a zero-second deadline would expire at once).
 */
export function phaseTimeoutSeconds(phase: DefinitionPhase): number | null {
  if (typeof phase.timeout === 'number') return phase.timeout;
  if (phase.actions.length === 0) return null;
  let total = 0;
  for (const action of phase.actions as DefinitionAction[]) {
    if (typeof action.timeout !== 'number') return null;
    total += action.timeout;
  }
  return total;
}

const DURATION = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * Seconds in a duration written as hours, minutes and seconds in that order
 * ("45s", "30m", "2h", "1h30m" → 5400). Null for anything else, including "".
 */
export function parseDurationString(s: string): number | null {
  const match = DURATION.exec(s);
  if (match === null) return null;
  const [, h, m, sec] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(sec ?? 0);
}
