// Fails listing every library source file (specs aside) that does not open with a comment saying what it holds.
// The project rule: a reader learns a file's job from its first line or two.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'libs/nestjs-celery/src');

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

const missing = [];
for (const file of sources(src)) {
  const first = readFileSync(file, 'utf8')
    .replace(/^#!.*\n/, '')
    .trimStart();
  if (!first.startsWith('//') && !first.startsWith('/*')) missing.push(relative(root, file));
}

if (missing.length) {
  console.error(`${missing.length} source file(s) do not open with a comment saying what they hold:`);
  for (const file of missing.sort()) console.error(`  ${file}`);
  process.exit(1);
}
console.log('check-headers: every library source file opens with a comment');
