// The approval page in real headless Chromium (chromium.ts) against a real service: an approver
// opens their link, reads the request and clicks Approve or Reject (with a comment); a used
// link shows "already decided"; a tampered link is a 403 page; an expired approval a 410 page;
// a cancelled one says so, with the reason, and offers no form (a form opened before the
// cancellation is refused); and loading the page — what a link scanner does — decides nothing, however often.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Chromium } from './chromium.ts';
import { eventually, startTestService, type TestService } from './harness.ts';

let service: TestService;
let browser: Chromium;

before(async () => {
  service = await startTestService({ CORTEX_APPROVER_GROUPS: 'sre=alice,bob,carol' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await service?.stop();
});

async function create(overrides: Record<string, unknown> = {}) {
  const reply = await service.call('POST', '/v1/approvals', {
    as: 'n8n-contractor',
    body: {
      title: 'Upgrade Talos on prod-eu',
      description: '## Why\nCVE fix in **v1.9.3**.\n- drain nodes one by one\n- [runbook](https://runbooks.example.test/talos)',
      context: { cluster: 'prod-eu', version: 'v1.9.3' },
      approvers: ['group:sre'],
      required_approvals: 2,
      deadline: 600,
      ...overrides,
    },
  });
  assert.equal(reply.status, 201, reply.text);
  return reply.body as { approval_id: string; links: { approver: string; url: string }[] };
}

const linkOf = (approval: { links: { approver: string; url: string }[] }, approver: string) => approval.links.find((l) => l.approver === approver)!.url;

async function state(id: string) {
  return (await service.call('GET', `/v1/approvals/${id}`)).body;
}

async function open(url: string): Promise<{ page: Page; status: number }> {
  const page = await browser.context.newPage();
  const response = await page.goto(url);
  return { page, status: response?.status() ?? 0 };
}

describe('the approval page in headless Chromium', { timeout: 120_000 }, () => {
  it('shows the request and approves on an explicit click, with a comment', async () => {
    const approval = await create();
    const { page, status } = await open(linkOf(approval, 'alice'));
    try {
      assert.equal(status, 200);
      assert.equal(await page.title(), 'Upgrade Talos on prod-eu');
      assert.equal(await page.locator('#title').textContent(), 'Upgrade Talos on prod-eu');
      assert.equal(await page.locator('#description h4').textContent(), 'Why');
      assert.equal(await page.locator('#description strong').textContent(), 'v1.9.3');
      assert.equal(await page.locator('#description li').count(), 2);
      assert.equal(await page.locator('#description a').getAttribute('href'), 'https://runbooks.example.test/talos');
      assert.deepEqual(JSON.parse((await page.locator('#context').textContent()) ?? ''), { cluster: 'prod-eu', version: 'v1.9.3' });
      assert.equal(await page.locator('#approvers tbody tr').count(), 3);
      assert.equal(await page.locator('script').count(), 0, 'no script on the page');

      await page.fill('#comment', 'Checked the runbook <ok>');
      await Promise.all([page.waitForURL(/\/decide$/), page.click('#approve')]);
      assert.match((await page.locator('#recorded').textContent()) ?? '', /Thank you, alice: your approval is recorded/);
      assert.match((await page.locator('#status').textContent()) ?? '', /waiting for decisions/);
      assert.match((await page.locator('#approvers').textContent()) ?? '', /Checked the runbook <ok>/);
    } finally {
      await page.close();
    }
    const now = await state(approval.approval_id);
    assert.equal(now.status, 'pending');
    assert.deepEqual(now.decisions.map((d: { approver: string; decision: string; comment: string; via: string }) => [d.approver, d.decision, d.comment, d.via]), [
      ['alice', 'approve', 'Checked the runbook <ok>', 'link'],
    ]);

    // The second approver: 2 of 3, approved.
    const second = await open(linkOf(approval, 'carol'));
    try {
      await Promise.all([second.page.waitForURL(/\/decide$/), second.page.click('#approve')]);
      assert.match((await second.page.locator('#status').textContent()) ?? '', /^approved$/);
    } finally {
      await second.page.close();
    }
    assert.equal((await state(approval.approval_id)).status, 'approved');
  });

  it('rejects on an explicit click', async () => {
    const approval = await create();
    const { page } = await open(linkOf(approval, 'bob'));
    try {
      await page.fill('#comment', 'Not during the change freeze');
      await Promise.all([page.waitForURL(/\/decide$/), page.click('#reject')]);
      assert.match((await page.locator('#recorded').textContent()) ?? '', /your rejection is recorded/);
      assert.match((await page.locator('#status').textContent()) ?? '', /^rejected$/);
    } finally {
      await page.close();
    }
    const now = await state(approval.approval_id);
    assert.equal(now.status, 'rejected');
    assert.deepEqual(now.rejected_by, ['bob']);
    assert.equal(now.decisions[0].comment, 'Not during the change freeze');
  });

  it('a used link shows "already decided", without a form; resubmitting the old form is refused', async () => {
    const approval = await create();
    // The same link open in two tabs: decide in one, then submit the other's (now stale) form.
    const first = await open(linkOf(approval, 'alice'));
    const stale = await open(linkOf(approval, 'alice'));
    try {
      await Promise.all([first.page.waitForURL(/\/decide$/), first.page.click('#approve')]);
      assert.match((await first.page.locator('#recorded').textContent()) ?? '', /your approval is recorded/);
      const [response] = await Promise.all([stale.page.waitForResponse((r) => r.request().method() === 'POST'), stale.page.click('#reject')]);
      assert.equal(response.status(), 409);
      assert.match((await stale.page.locator('#already-decided').textContent()) ?? '', /Already decided\.\s*You approved this request/);
    } finally {
      await first.page.close();
      await stale.page.close();
    }
    // Opening the used link again.
    const reused = await open(linkOf(approval, 'alice'));
    try {
      assert.equal(reused.status, 200);
      assert.match((await reused.page.locator('#already-decided').textContent()) ?? '', /Already decided\.\s*You approved this request/);
      assert.equal(await reused.page.locator('form').count(), 0, 'no form to decide again');
    } finally {
      await reused.page.close();
    }
    const now = await state(approval.approval_id);
    assert.equal(now.decisions.length, 1, 'counted once');

    // Another approver whose request was settled by the others: no form either.
    const settled = await create({ required_approvals: 1 });
    await service.call('POST', `/v1/approvals/${settled.approval_id}/decisions`, { body: { approver: 'bob', decision: 'approve' } });
    const late = await open(linkOf(settled, 'carol'));
    try {
      assert.equal(late.status, 200);
      assert.match((await late.page.locator('#already-decided').textContent()) ?? '', /already approved; no further decision is needed/);
      assert.equal(await late.page.locator('form').count(), 0);
    } finally {
      await late.page.close();
    }
  });

  it('a tampered link gets the 403 page and no form', async () => {
    const approval = await create();
    const url = new URL(linkOf(approval, 'alice'));
    url.searchParams.set('approver', 'bob'); // alice's signature, bob's name
    const { page, status } = await open(url.toString());
    try {
      assert.equal(status, 403);
      assert.match((await page.locator('#invalid-link').textContent()) ?? '', /This link is not valid/);
      assert.equal(await page.locator('form').count(), 0);
    } finally {
      await page.close();
    }
    assert.equal((await state(approval.approval_id)).decisions.length, 0);
  });

  it('an expired approval gets the 410 page and no form', async () => {
    const approval = await create({ deadline: 0.5 });
    await eventually(async () => (await state(approval.approval_id)).status === 'timed_out', 5000);
    const { page, status } = await open(linkOf(approval, 'alice'));
    try {
      assert.equal(status, 410);
      assert.match((await page.locator('#expired').textContent()) ?? '', /has expired/);
      assert.equal(await page.locator('form').count(), 0);
    } finally {
      await page.close();
    }
  });

  it('a cancelled approval says so, with who and why, without a form; a form opened before is refused', async () => {
    const approval = await create();
    const before = await open(linkOf(approval, 'bob'));
    try {
      assert.equal(await before.page.locator('form').count(), 1);
      const cancelled = await service.call('POST', `/v1/approvals/${approval.approval_id}/cancel`, { as: 'n8n-contractor', body: { reason: 'Rollout moved to next week' } });
      assert.equal(cancelled.status, 200, cancelled.text);
      const [response] = await Promise.all([before.page.waitForResponse((r) => r.request().method() === 'POST'), before.page.click('#approve')]);
      assert.equal(response.status(), 409);
      assert.match((await before.page.locator('#cancelled').textContent()) ?? '', /This approval request was cancelled\./);
    } finally {
      await before.page.close();
    }
    const { page, status } = await open(linkOf(approval, 'alice'));
    try {
      assert.equal(status, 200);
      assert.match((await page.locator('#status').textContent()) ?? '', /^cancelled$/);
      const notice = (await page.locator('#cancelled').textContent()) ?? '';
      assert.match(notice, /This approval request was cancelled\./);
      assert.match(notice, /n8n-contractor withdrew it at \d{4}-\d\d-\d\dT[^;]+; decisions are no longer accepted\./);
      assert.match(notice, /The reason given: Rollout moved to next week/);
      assert.equal(await page.locator('form').count(), 0, 'no form to decide');
      assert.equal(await page.locator('button').count(), 0);
    } finally {
      await page.close();
    }
    const now = await state(approval.approval_id);
    assert.equal(now.status, 'cancelled');
    assert.deepEqual(now.decisions, []);
  });

  it('loading the page (what a link scanner does) decides nothing, however often', async () => {
    const approval = await create({ required_approvals: 1 });
    for (const approver of ['alice', 'bob', 'carol']) {
      for (let i = 0; i < 3; i++) {
        const { page, status } = await open(linkOf(approval, approver));
        assert.equal(status, 200);
        await page.close();
      }
    }
    // Scanners also prefetch with HEAD and follow with plain GETs of other tools.
    for (const link of approval.links) assert.equal((await fetch(link.url, { method: 'HEAD' })).status, 200);
    const now = await state(approval.approval_id);
    assert.equal(now.status, 'pending');
    assert.equal(now.decisions.length, 0);
    const history = await service.call('GET', `/v1/approvals/${approval.approval_id}/events`, { as: 'n8n-contractor' });
    assert.deepEqual(history.body.items.map((e: { type: string }) => e.type), ['approval.created']);
  });
});
