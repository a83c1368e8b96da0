// Secret-looking keys are masked wherever data leaves the service for logs or the
// audit history. The rule is by key name, at any depth.

const SECRET_KEY =
  /pass(word|phrase|wd)?|secret|token|api[-_]?key|private[-_]?key|(^|[-_.])keys?$|authorization|cookie|credential|signature|^otp$|session/i;

export const REDACTED = '[REDACTED]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A deep copy of `value` with the values of secret-looking keys replaced. Bounded depth. */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = isSecretKey(key) ? REDACTED : redactSecrets(inner, depth + 1);
  }
  return copy as T;
}
