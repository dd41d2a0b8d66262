/**
 * Text from outside (a library's file names, a drive's folder names, an error that quotes them)
 * shown to a person: every control character, and the C1 controls and line separators that some
 * terminals act on, is written as an escape (`\n`, `\x1b`, `\u2028`), so a name cannot start a
 * line that looks like the agent's own, nor move the cursor or recolour the terminal.
 */
export function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (character) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = character.charCodeAt(0);
    return (
      named[character] ??
      (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`)
    );
  });
}
