// Apart from client.ts so a SQLite server can describe its database without loading pg.

/** The URL with its password masked, for logs and messages: a connection string is a secret. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
