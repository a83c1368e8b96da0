import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, handoffBody } from './harness.ts';

test('a handoff goes pending → in_progress → completed over real HTTP', async () => {
  const svc = await startTestService();
  try {
    const created = await svc.call('POST', '/v1/handoffs', { as: 'infrastructure-contractor', body: handoffBody() });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'pending');
    const id = created.body.handoff_id;
    const claimed = await svc.call('POST', `/v1/handoffs/${id}/claim`, { as: 'talos-contractor' });
    assert.equal(claimed.status, 200);
    assert.equal(claimed.body.status, 'in_progress');
    const done = await svc.call('POST', `/v1/handoffs/${id}/complete`, { as: 'talos-contractor', body: { result: { kubeconfig_ref: 'k1' } } });
    assert.equal(done.status, 200);
    assert.equal(done.body.status, 'completed');
    assert.deepEqual(done.body.result, { kubeconfig_ref: 'k1' });
    assert.equal(done.headers.get('etag'), '"3"');
  } finally {
    await svc.stop();
  }
});
