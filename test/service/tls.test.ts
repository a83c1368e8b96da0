// Optional TLS: with CORTEX_TLS_CERT/KEY the service speaks HTTPS only; a client that
// trusts the CA gets through, one that does not is refused by the TLS handshake.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { startTestService, tempDir, ADMIN_TOKEN } from './harness.ts';

function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=cortex-test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

function get(url: string, ca: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the service serves HTTPS with the configured certificate', async () => {
  const dir = tempDir();
  const { cert, key } = makeCertificate(dir.path);
  const svc = await startTestService({ CORTEX_TLS_CERT: cert, CORTEX_TLS_KEY: key });
  try {
    assert.match(svc.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = await get(`${svc.url}/v1/handoffs`, readFileSync(cert, 'utf8'));
    assert.equal(trusted.status, 200);
    assert.deepEqual(JSON.parse(trusted.body).items, []);
    await assert.rejects(get(`${svc.url}/v1/handoffs`, undefined), /self[- ]signed|unable to verify/i);
    await assert.rejects(fetch(svc.url.replace('https:', 'http:') + '/healthz'));
  } finally {
    await svc.stop();
    dir.remove();
  }
});

test('CORTEX_TLS_CERT without CORTEX_TLS_KEY is a configuration error', async () => {
  await assert.rejects(startTestService({ CORTEX_TLS_CERT: '/nonexistent.pem' }), /CORTEX_TLS_CERT and CORTEX_TLS_KEY go together/);
});
