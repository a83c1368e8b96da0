// Without CORTEX_ADMIN_TOKEN / CORTEX_APPROVAL_LINK_SECRET the service makes each once, keeps
// it beside the database in a 0600 file, and reads the same one back on the next start.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../service/src/config.ts';
import { startService } from '../../service/src/service.ts';
import { tempDir } from './harness.ts';

test('generated secrets are kept in 0600 files beside the database and reused', async () => {
  const dir = tempDir();
  try {
    const config = loadConfig({ CORTEX_PORT: '0', CORTEX_DATABASE: join(dir.path, 'data', 'cortex.sqlite'), CORTEX_LOG_LEVEL: 'silent' });
    const files = ['admin-token', 'approval-link-secret'].map((name) => join(dir.path, 'data', name));
    const first = await startService(config);
    await first.stop();
    const secrets = files.map((file) => readFileSync(file, 'utf8').trim());
    for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    assert.ok(secrets.every((secret) => secret.length >= 32), 'long random secrets');

    const second = await startService(config);
    try {
      const answer = await fetch(`${second.url}/v1/handoffs`, { headers: { authorization: `Bearer ${secrets[0]}` } });
      assert.equal(answer.status, 200, 'the kept admin token still authenticates');
    } finally {
      await second.stop();
    }
    assert.deepEqual(files.map((file) => readFileSync(file, 'utf8').trim()), secrets, 'not regenerated');
  } finally {
    dir.remove();
  }
});
