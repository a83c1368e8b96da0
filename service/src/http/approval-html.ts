// The approval page's HTML, rendered on the server with no framework and no script.
// Every piece of user text (title, description, context, names, comments) passes through
// escapeHtml; the description's markdown is a small subset rendered from the ESCAPED text,
// so markup in it can never become markup on the page. Links in it must be http(s).

import { counts } from '../domain/approval-rules.ts';
import type { Approval } from '../domain/types.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Inline markdown on escaped text: `code`, **bold**, *italic*, [text](http(s) URL). */
function inline(escaped: string): string {
  const codes: string[] = [];
  // Code spans first, held aside so that nothing inside them is formatted. The placeholder
  // starts with "<", which escaped text never holds, so user text cannot imitate it.
  let out = escaped.replace(/`([^`\n]+)`/g, (_m, code: string) => `<@${codes.push(`<code>${code}</code>`) - 1}@>`);
  out = out.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
  out = out.replace(/(^|[^*])\*([^*\n]+)\*/g, '$1<em>$2</em>');
  // The URL is escaped text already (quotes are &quot;), so it cannot leave the attribute.
  out = out.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer nofollow">$1</a>');
  return out.replace(/<@(\d+)@>/g, (_m, i: string) => codes[Number(i)]!);
}

/**
 * A safe markdown subset: # / ## / ### headings, "- " or "* " lists, ``` fenced code,
 * paragraphs (blank-line separated, single newlines kept as <br>), and the inline forms
 * above. Anything else shows as the text it is.
 */
export function renderMarkdown(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const html: string[] = [];
  let paragraph: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (paragraph.length) html.push(`<p>${paragraph.map((l) => inline(escapeHtml(l))).join('<br>')}</p>`);
    if (list.length) html.push(`<ul>${list.map((l) => `<li>${inline(escapeHtml(l))}</li>`).join('')}</ul>`);
    paragraph = [];
    list = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      html.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^\s*[-*]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const level = heading[1]!.length + 2; // h3..h5 under the page's own h1/h2
      html.push(`<h${level}>${inline(escapeHtml(heading[2]!))}</h${level}>`);
    } else if (item) {
      if (paragraph.length) flush();
      list.push(item[1]!);
    } else if (line.trim() === '') {
      flush();
    } else {
      if (list.length) flush();
      paragraph.push(line);
    }
  }
  flush();
  return html.join('\n');
}

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:1.5rem}
pre{background:#f3f4f6;padding:.75rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.status{display:inline-block;padding:.1rem .5rem;border-radius:3px;background:#eef}
.notice{padding:.75rem 1rem;border-radius:4px;background:#f6f8fa;border:1px solid #d0d7de}
textarea{width:100%;min-height:5rem;box-sizing:border-box}
button{font-size:1rem;padding:.5rem 1.25rem;margin:.75rem .75rem 0 0;border-radius:4px;border:1px solid #888;cursor:pointer}
button.approve{background:#1f883d;color:#fff;border-color:#1a7f37}button.reject{background:#cf222e;color:#fff;border-color:#a40e26}
`;

/** A whole page. The nonce allows the one inline style sheet (CSP style-src 'nonce-…'). */
export function page(title: string, body: string, nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const VERDICT: Record<string, string> = { approved: 'Approved', rejected: 'Rejected', pending: 'Pending' };
const STATUS: Record<Approval['status'], string> = { pending: 'waiting for decisions', approved: 'approved', rejected: 'rejected', timed_out: 'timed out', cancelled: 'cancelled' };

export const statusText = (approval: Approval): string => STATUS[approval.status];

/** Title, description, context, progress and who decided what. */
export function requestSection(approval: Approval): string {
  const { approvals, rejections } = counts(approval);
  const rows = approval.approvers
    .map((approver) => {
      const d = approval.decisions.find((x) => x.approver === approver);
      const status = d ? VERDICT[d.decision === 'approve' ? 'approved' : 'rejected'] : VERDICT.pending;
      const when = d ? new Date(d.at).toISOString() : '';
      return `<tr><td>${escapeHtml(approver)}</td><td>${status}</td><td>${escapeHtml(when)}</td><td>${escapeHtml(d?.comment ?? '')}</td></tr>`;
    })
    .join('');
  const context = Object.keys(approval.context).length
    ? `<h2>Context</h2><pre id="context">${escapeHtml(JSON.stringify(approval.context, null, 2))}</pre>`
    : '';
  return `<h1 id="title">${escapeHtml(approval.title)}</h1>
<p>Status: <span class="status" id="status">${escapeHtml(statusText(approval))}</span> — ${approvals} of ${approval.required_approvals} required approval(s)${rejections ? `, ${rejections} rejection(s)` : ''}${approval.reject_on_first_rejection ? '; one rejection rejects' : ''}. Deadline: <span id="deadline">${escapeHtml(new Date(approval.deadline_at).toISOString())}</span>.</p>
<div id="description">${renderMarkdown(approval.description)}</div>
${context}
<h2>Approvers</h2>
<table id="approvers"><thead><tr><th>Approver</th><th>Decision</th><th>When</th><th>Comment</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The decision form: the signed link's values travel as hidden fields; two explicit buttons. */
export function decisionForm(approval: Approval, link: { approver: string; expires: number; sig: string }): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return `<h2>Your decision, ${escapeHtml(link.approver)}</h2>
<form method="post" action="/approvals/${escapeHtml(encodeURIComponent(approval.approval_id))}/decide" id="decision-form">
${hidden('approver', link.approver)}${hidden('expires', String(link.expires))}${hidden('sig', link.sig)}
<label for="comment">Comment (optional)</label>
<textarea id="comment" name="comment" maxlength="2000"></textarea>
<button type="submit" name="decision" value="approve" class="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject" id="reject">Reject</button>
</form>`;
}

export function notice(id: string, heading: string, text: string): string {
  return `<div class="notice" id="${id}"><strong>${escapeHtml(heading)}</strong><p>${escapeHtml(text)}</p></div>`;
}
