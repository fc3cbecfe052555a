/**
 * Header values are credentials: every log line of the HTTP upstream passes
 * through `redact`, in case an error message (a server's answer, a library's
 * message) quotes one.
 */

/** Header values, and the words in them long enough to be a credential (`Bearer <token>` -> the token). */
export function secretsOf(headers: Readonly<Record<string, string>>): string[] {
  const values = Object.values(headers).filter((v) => v.trim().length >= 4);
  const words = values.flatMap((v) => v.split(/\s+/)).filter((w) => w.length >= 8);
  return [...new Set([...values, ...words])].sort((a, b) => b.length - a.length);
}

export function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}
