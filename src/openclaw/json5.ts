/**
 * A JSON5 parser (https://spec.json5.org), for OpenClaw's `openclaw.json`: comments, trailing
 * commas, unquoted keys, single-quoted and multi-line strings, hexadecimal numbers, Infinity and
 * NaN, leading and trailing decimal points, an explicit plus sign. Errors name the line and column.
 */
export function parseJson5(text: string): unknown {
  let at = 0;

  const fail = (what: string): never => {
    const before = text.slice(0, at).split('\n');
    throw new SyntaxError(`${what} at line ${before.length}, column ${before[before.length - 1].length + 1}`);
  };

  const skip = () => {
    for (;;) {
      const c = text[at];
      if (c === '/' && text[at + 1] === '/') {
        while (at < text.length && !'\n\r\u2028\u2029'.includes(text[at])) at++;
      } else if (c === '/' && text[at + 1] === '*') {
        const end = text.indexOf('*/', at + 2);
        if (end < 0) fail('unterminated comment');
        at = end + 2;
      } else if (c !== undefined && /[\s\uFEFF]/.test(c)) at++;
      else return;
    }
  };

  const value = (): unknown => {
    skip();
    const c = text[at];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"' || c === "'") return string();
    if (c !== undefined && /[-+.\dIN]/.test(c)) return number();
    for (const [word, result] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, at) && !/[\w$]/.test(text[at + word.length] ?? '')) {
        at += word.length;
        return result;
      }
    }
    return fail(c === undefined ? 'unexpected end of input' : `unexpected "${c}"`);
  };

  const object = () => {
    const result: Record<string, unknown> = {};
    at++;
    for (;;) {
      skip();
      if (text[at] === '}') {
        at++;
        return result;
      }
      const key = text[at] === '"' || text[at] === "'" ? string() : identifier();
      skip();
      if (text[at++] !== ':') fail('expected ":"');
      Object.defineProperty(result, key, { value: value(), enumerable: true, writable: true, configurable: true });
      skip();
      if (text[at] === ',') at++;
      else if (text[at] !== '}') fail('expected "," or "}"');
    }
  };

  const array = () => {
    const result: unknown[] = [];
    at++;
    for (;;) {
      skip();
      if (text[at] === ']') {
        at++;
        return result;
      }
      result.push(value());
      skip();
      if (text[at] === ',') at++;
      else if (text[at] !== ']') fail('expected "," or "]"');
    }
  };

  const identifier = () => {
    const match = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$_\u200C\u200D]*/u.exec(text.slice(at));
    if (!match) fail('expected a key');
    at += match![0].length;
    return match![0];
  };

  const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', 0: '\0' };
  const string = () => {
    const quote = text[at++];
    let result = '';
    for (;;) {
      const c = text[at++];
      if (c === undefined || c === '\n' || c === '\r') {
        at--;
        fail('unterminated string');
      }
      if (c === quote) return result;
      if (c !== '\\') {
        result += c;
        continue;
      }
      const e = text[at++];
      if (e === '\r' && text[at] === '\n') at++;
      if (e === '\n' || e === '\r' || e === '\u2028' || e === '\u2029') continue; // a line continuation
      if (e === 'x' || e === 'u') {
        const digits = text.slice(at, at + (e === 'x' ? 2 : 4));
        if (!/^[\da-fA-F]+$/.test(digits) || digits.length !== (e === 'x' ? 2 : 4)) fail('bad escape');
        result += String.fromCharCode(parseInt(digits, 16));
        at += digits.length;
      } else if (e === '0' && /\d/.test(text[at] ?? '')) fail('bad escape');
      else if (e !== undefined && /[1-9]/.test(e)) fail('bad escape');
      else result += ESCAPES[e] ?? e;
    }
  };

  const number = () => {
    const match = /^[-+]?(?:Infinity|NaN|0[xX][\da-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(text.slice(at));
    if (!match) return fail(`unexpected "${text[at]}"`);
    at += match[0].length;
    const literal = match[0];
    const sign = literal.startsWith('-') ? -1 : 1;
    const unsigned = literal.replace(/^[-+]/, '');
    if (unsigned === 'Infinity') return sign * Infinity;
    if (unsigned === 'NaN') return NaN;
    return sign * (/^0[xX]/.test(unsigned) ? parseInt(unsigned, 16) : Number(unsigned));
  };

  const result = value();
  skip();
  if (at < text.length) fail(`unexpected "${text[at]}"`);
  return result;
}
