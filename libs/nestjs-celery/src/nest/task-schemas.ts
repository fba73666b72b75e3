// Runtime-validated task contracts: Standard Schema validators (zod, valibot, arktype …) for a task's args,
// kwargs and result, checked by the client before publishing and by the worker before and after running.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { pythonFuncName, TaskSignature, type TaskParams } from '../engine/worker/task-arguments.js';
import { PyTypeError } from '../protocol/python-errors.js';

/**
 * The validators of a contract, any Standard Schema implementation (zod 4, valibot, arktype …):
 * `args` a tuple schema of the positional arguments, `kwargs` an object schema of the keywords,
 * `result` a schema of the return value.
 */
export interface TaskSchemas {
  /** the positional args, after keywords are bound to the contract's `params` when it has them */
  args?: StandardSchemaV1<unknown[], unknown[]>;
  /** the keyword args the handler receives (without `params`; with them, keywords are bound into args) */
  kwargs?: StandardSchemaV1<object, object>;
  /** the handler's return value, checked by the worker before it stores SUCCESS */
  result?: StandardSchemaV1;
}

/** The positional args type of schemas: the `args` schema's input type, `[]` without one. */
export type SchemaArgs<S extends TaskSchemas> = S extends { args: infer X extends StandardSchemaV1<unknown[], unknown[]> }
  ? StandardSchemaV1.InferInput<X>
  : [];
/** The kwargs type of schemas: the `kwargs` schema's input type, any keywords without one. */
export type SchemaKwargs<S extends TaskSchemas> = S extends { kwargs: infer X extends StandardSchemaV1<object, object> }
  ? StandardSchemaV1.InferInput<X>
  : Record<string, unknown>;
/** The result type of schemas: the `result` schema's output type, `unknown` without one. */
export type SchemaResult<S extends TaskSchemas> = S extends { result: infer X extends StandardSchemaV1 } ? StandardSchemaV1.InferOutput<X> : unknown;

/** At most this many issues are spelled out in a message, each at most ISSUE_CHARS long (the input controls them). */
const MAX_ISSUES = 5;
const ISSUE_CHARS = 200;
const FIELD_CHARS = 64;

/**
 * A task call or result its contract's schemas refuse: Python's `TypeError` (module builtins), so a
 * Python client's `result.get()` raises `TypeError` with the message, which names each field:
 * `add() argument 'x': Invalid input: expected number, received string`. `issues` holds the
 * schema's own issues (JS side only).
 */
export class TaskValidationError extends PyTypeError {
  /** the Standard Schema issues behind the message */
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(message: string, issues: readonly StandardSchemaV1.Issue[]) {
    super(message);
    this.issues = issues;
  }
}

/** A contract's name, its parameter names and its schemas: what validation needs. */
export interface ValidatedTask {
  readonly name: string;
  readonly params?: TaskParams;
  readonly schemas?: TaskSchemas;
}

/**
 * Check a call against the task's `args` and `kwargs` schemas and return the values the schemas
 * produce. With parameter names the call is bound first, as the worker binds it (`bound: true`
 * when that already happened), so a call Python would refuse fails with Python's TypeError.
 */
export async function validateArguments(
  task: ValidatedTask,
  args: unknown[],
  kwargs: Record<string, unknown>,
  bound = false,
): Promise<{ args: unknown[]; kwargs: Record<string, unknown> }> {
  const { schemas } = task;
  if (!schemas?.args && !schemas?.kwargs) return { args, kwargs };
  const signature = task.params ? new TaskSignature(task.name, task.params) : undefined;
  const positional = signature && !bound ? signature.bind(args, kwargs) : args;
  const keywords = signature && !bound ? {} : kwargs;
  const [checkedArgs, checkedKwargs] = await Promise.all([validate(schemas.args, positional), validate(schemas.kwargs, keywords)]);
  const issues = [
    ...checkedArgs.issues.map((issue) => describe(issue, argumentLabel(signature))),
    ...checkedKwargs.issues.map((issue) => describe(issue, (path) => `argument ${quote(path)}`)),
  ];
  if (issues.length > 0) throw refusal(pythonFuncName(task.name), issues, [...checkedArgs.issues, ...checkedKwargs.issues]);
  return { args: checkedArgs.value as unknown[], kwargs: checkedKwargs.value as Record<string, unknown> };
}

/** Check a handler's return value against the task's `result` schema; returns the schema's output. */
export async function validateResult(task: ValidatedTask, value: unknown): Promise<unknown> {
  const checked = await validate(task.schemas?.result, value);
  if (checked.issues.length === 0) return checked.value;
  throw refusal(
    pythonFuncName(task.name),
    checked.issues.map((issue) => describe(issue, (path) => (path.length ? `result ${quote(path)}` : 'result'))),
    checked.issues,
  );
}

async function validate(schema: StandardSchemaV1 | undefined, value: unknown): Promise<{ value: unknown; issues: readonly StandardSchemaV1.Issue[] }> {
  if (!schema) return { value, issues: [] };
  const result = await schema['~standard'].validate(value);
  return result.issues ? { value, issues: result.issues } : { value: result.value, issues: [] };
}

type PathKey = PropertyKey;

function pathOf(issue: StandardSchemaV1.Issue): PathKey[] {
  return (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p));
}

/** `argument 'x'` for args[0] of `add(x, y)`, `argument 'args[2]'` without names; `arguments` for the whole list. */
function argumentLabel(signature: TaskSignature | undefined): (path: PathKey[]) => string {
  return (path) => {
    if (path.length === 0) return 'arguments';
    const [first, ...rest] = path;
    const index = typeof first === 'number' ? first : Number(first);
    const names = signature?.names ?? [];
    const named =
      Number.isInteger(index) && index < names.length
        ? names[index]
        : signature?.varArgs !== undefined && Number.isInteger(index)
          ? `${signature.varArgs}[${index - names.length}]`
          : `args[${String(first)}]`;
    return `argument ${quote([named, ...rest])}`;
  };
}

function quote(path: PathKey[]): string {
  const text = path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? clip(String(key), FIELD_CHARS) : `.${clip(String(key), FIELD_CHARS)}`))
    .join('');
  return `'${text}'`;
}

function describe(issue: StandardSchemaV1.Issue, label: (path: PathKey[]) => string): string {
  return `${label(pathOf(issue))}: ${clip(String(issue.message), ISSUE_CHARS)}`;
}

function refusal(func: string, described: string[], issues: readonly StandardSchemaV1.Issue[]): TaskValidationError {
  const shown = described.slice(0, MAX_ISSUES).map((d) => `${func}() ${d}`);
  const more = described.length > MAX_ISSUES ? [`and ${described.length - MAX_ISSUES} more`] : [];
  return new TaskValidationError([...shown, ...more].join('; '), issues);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
