/**
 * Run through ts-child.ts by libs/nestjs-celery/src/entry-points.spec.ts: imports the given files in turn and
 * reports, after each, what the process has loaded; `--call <export> <arg>` calls an export of each (the control).
 */
import { loadedSoFar } from './ts-child.js';

export async function main(args: string[]): Promise<{ file: string; exports: number; files: string[]; packages: string[] }[]> {
  const call = args.includes('--call') ? args.splice(args.indexOf('--call')).slice(1) : [];
  const steps = [];
  for (const file of args) {
    const entry = (await import(file)) as Record<string, (arg: string) => unknown>;
    if (call.length) entry[call[0]](call[1]);
    steps.push({ file, exports: Object.keys(entry).length, ...loadedSoFar() });
  }
  return steps;
}
