/** A token as the codec makes it. */
const TOKEN_PATTERN = /[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}/g;
/** A URL may percent-encode any character of a token (`%2E` for `.`): such text is decoded first. */
const PERCENT_ENCODED = /%[0-9A-Fa-f]{2}/;

/** The text with anything shaped like a token replaced by `[token]`, whatever carried it there and however it was spelled. */
export function scrubTokens(text: string): string {
  if (text.length < 58) return text;
  return decoded(text).replace(TOKEN_PATTERN, '[token]');
}

function decoded(text: string): string {
  if (!PERCENT_ENCODED.test(text)) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Broken percent-encoding somewhere: decode what can be decoded, piece by piece.
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}
