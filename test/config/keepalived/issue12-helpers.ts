/** Shared by the issue 12 importer tests: the fixtures and an import run the way a user runs it. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatProblems } from '../../../src/config/errors';
import { parseConfig } from '../../../src/config/load';
import type { LvsdConfig } from '../../../src/config/types';
import { importKeepalived } from '../../../src/config/keepalived/import';
import { ROOT } from '../helpers';

/** The issue's fixtures. */
export const ISSUE12 = path.join(ROOT, 'test/config/keepalived/fixtures/issue12');

/** Runs `lvsd import-keepalived FILE -o OUT` from `cwd`, as a user would; returns status, stderr lines and the output. */
export async function importIn(cwd: string, file: string, configId = 'lvs-a'): Promise<{ status: number; err: string[]; out: string; config: LvsdConfig }> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsd-issue12-'));
  const before = process.cwd();
  let err = '';
  try {
    process.chdir(cwd);
    const status = await importKeepalived(file, path.join(outDir, 'lvsd.conf'), { configId, stderr: { write: (s: string) => (err += s) } });
    const out = fs.readFileSync(path.join(outDir, 'lvsd.conf'), 'utf8');
    const r = parseConfig(out, 'lvsd.conf');
    assert.deepEqual(formatProblems(r.problems.filter((p) => p.severity === 'error')), [], `the import does not load:\n${out}`);
    return { status, err: err.split('\n').filter(Boolean), out, config: r.config! };
  } finally {
    process.chdir(before);
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

