/** Drive real Python Celery canvas from the suites (test/canvas/python/canvas_client.py). */
import { runPython, type PythonEnv } from '../../support/python.js';
import type { Description } from './canvas-description.js';

/** What Python sees of one applied canvas. */
export interface PythonCanvasOutcome {
  id: string;
  kind: 'task' | 'group';
  members?: string[];
  ok: boolean;
  value?: unknown;
  exc_type?: string;
  exc_module?: string;
  exc_args?: unknown[];
  parents: { id: string; kind: 'task' | 'group'; state?: string; members?: string[] }[];
}

export interface PythonCanvasCall {
  canvas: Description;
  args?: unknown[];
  timeout?: number;
}

/** Build each canvas in Python, apply them all, then wait for each result (Python's `get()`). */
export function pythonCanvas(env: PythonEnv, calls: PythonCanvasCall[]): Promise<PythonCanvasOutcome[]> {
  const longest = Math.max(30, ...calls.map((c) => c.timeout ?? 30));
  return runPython<PythonCanvasOutcome[]>('../../canvas/python/canvas_client.py', env, { scenarios: calls }, [], (longest + 30) * 1000);
}
