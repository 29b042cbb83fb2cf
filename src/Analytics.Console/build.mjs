// Builds the console into ../Analytics.Api/wwwroot/: index.html (links carry a content hash) and console/app.js, app.css.
//   node build.mjs           type-check, bundle, write, print sizes
//   node build.mjs --check   bundle and compare with the committed files: exit 1 when they are not current
// esbuild's output depends only on its version (package-lock.json) and the sources, so the check is exact.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wwwroot = join(here, '..', 'Analytics.Api', 'wwwroot');
const check = process.argv.includes('--check');

if (!check) {
  try {
    execFileSync(join(here, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', here], { stdio: 'inherit' });
  } catch {
    console.error('Type errors: nothing written.');
    process.exit(1);
  }
}

const result = await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  outdir: join(wwwroot, 'console'),
  entryNames: 'app',
  legalComments: 'eof',
  write: false,
  logLevel: 'warning',
});

const files = new Map(result.outputFiles.map(f => [f.path, Buffer.from(f.contents)]));
const js = [...files.entries()].find(([p]) => p.endsWith('app.js'));
const css = [...files.entries()].find(([p]) => p.endsWith('app.css'));
const hash = buffer => createHash('sha256').update(buffer).digest('hex').slice(0, 12);
const template = readFileSync(join(here, 'index.html'), 'utf8');
const index = Buffer.from(template.replace('{{js}}', `/console/app.js?v=${hash(js[1])}`).replace('{{css}}', `/console/app.css?v=${hash(css[1])}`));
files.set(join(wwwroot, 'index.html'), index);

let stale = [];
for (const [path, contents] of files) {
  if (check) {
    if (!existsSync(path) || !readFileSync(path).equals(contents)) stale.push(path);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents);
  }
}

const kb = n => (n / 1024).toFixed(1) + ' KB';
const gz = [js[1], css[1], index].reduce((sum, b) => sum + gzipSync(b, { level: 9 }).length, 0);
console.log(`app.js ${kb(js[1].length)}, app.css ${kb(css[1].length)}, index.html ${kb(index.length)}; first page gzip total ${kb(gz)}`);
if (check) {
  if (stale.length > 0) {
    console.error('The committed console bundle is not current; run src/Analytics.Console/build.sh and commit:\n  ' + stale.join('\n  '));
    process.exit(1);
  }
  console.log('The committed console bundle is current.');
}
