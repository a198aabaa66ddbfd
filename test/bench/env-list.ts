/** `NAME=VALUE,NAME=VALUE` from a benchmark's env setting (a value may itself hold `=`). */
export function envList(text: string, setting: string): Record<string, string> {
  return Object.fromEntries(text.split(',').filter(Boolean).map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`${setting}: "${kv}" is not NAME=VALUE`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
}
