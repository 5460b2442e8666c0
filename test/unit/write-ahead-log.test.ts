import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DeferredSync } from '../../src/core/deferred-sync.js';
import { WriteAheadLog } from '../../src/core/write-ahead-log.js';
import { tempDir } from '../helpers.js';

interface Note {
  id: string;
  text: string;
}

const segment = (dir: string) => join(dir, readdirSync(dir).find((name) => name.endsWith('.log'))!);

it('does not let a done line cut short close another record whose id it begins with', async () => {
  const dir = join(tempDir(), 'log');
  const log = new WriteAheadLog<Note>(dir);
  await log.open();
  await log.begin({ id: 'r-1', text: 'one' });
  await log.begin({ id: 'r-12', text: 'twelve' });
  await log.end(['r-12']);
  await log.close();
  // A power cut tore the last line: "done r-12" came back as "done r-1".
  const file = segment(dir);
  truncateSync(file, readFileSync(file).length - 2);

  const reopened = new WriteAheadLog<Note>(dir);
  const found = await reopened.open();
  expect(found.map(({ record, finished }) => [record.id, finished])).toEqual([
    ['r-1', false],
    ['r-12', false],
  ]);
  await reopened.close();
});

it('skips a record whose bytes a power cut damaged, and keeps the records after it', async () => {
  const dir = join(tempDir(), 'log');
  const log = new WriteAheadLog<Note>(dir);
  await log.open();
  await log.begin({ id: 'a', text: 'first' });
  await log.begin({ id: 'b', text: 'second' });
  await log.close();
  const file = segment(dir);
  const bytes = readFileSync(file);
  bytes[bytes.indexOf('first')] = 0;
  writeFileSync(file, bytes);

  const reopened = new WriteAheadLog<Note>(dir);
  expect((await reopened.open()).map(({ record }) => record.text)).toEqual(['second']);
  await reopened.close();
});

it('never takes a second fsync as proof after a failed one: the files are written again first, and only then is the record closed', async () => {
  const dir = join(tempDir(), 'log');
  const steps: string[] = [];
  let syncs = 0;
  const changes = new DeferredSync<Note>(
    dir,
    async () => {
      syncs++;
      steps.push(`sync ${syncs}`);
      // The first fsync reports the error a failed writeback leaves (its pages may be gone now).
      if (syncs === 1) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    },
    async (record) => void steps.push(`rewrite ${record.id}`),
  );
  await changes.open();
  await changes.begin(() => ({ id: 'n-1', text: 'note' }));
  changes.written('n-1', ['bots/dev/a.md']);
  changes.committed('n-1');
  await changes.flush();
  await changes.close();
  expect(steps).toEqual(['sync 1', 'rewrite n-1', 'sync 2']);

  const reopened = new WriteAheadLog<Note>(dir);
  expect((await reopened.open()).map(({ record, finished }) => [record.id, finished])).toEqual([['n-1', true]]);
  await reopened.close();
});
