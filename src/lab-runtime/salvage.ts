/**
 * Salvage JSON that was cut short or damaged (a write interrupted by a full disk or a closed
 * tab; a byte flipped). `salvageJson` parses as far as the text is valid (RFC 8259 grammar) and
 * returns the value built so far: an object keeps every member that was complete, an array
 * every complete element; a string cut in the middle keeps its prefix and is reported as
 * `truncatedStrings` so callers can say "the end of your code was lost" instead of pretending.
 *
 * Pure and total: never throws, whatever the input.
 */

export interface Salvaged {
  /** The recovered value (undefined when nothing at all could be read). */
  value: unknown;
  /** True when the whole text parsed as JSON with nothing left over. */
  complete: boolean;
  /** Paths (e.g. "code", "labs.emulated-nic") of strings whose end was lost. */
  truncatedStrings: string[];
}

class Stop extends Error {}

/** Nesting limit: a damaged blob of "[[[[…" must not overflow the stack. */
const MAX_DEPTH = 200;

export function salvageJson(text: string): Salvaged {
  try {
    const v = JSON.parse(text) as unknown;
    return { value: v, complete: true, truncatedStrings: [] };
  } catch {
    /* salvage below */
  }
  let i = 0;
  const truncated: string[] = [];
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  /** A string starting at text[i] === '"'; on damage returns the prefix and records `path`. */
  const str = (path: string, partialOk: boolean): string => {
    i++;
    let out = '';
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
          continue;
        }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        break;
      }
      if (c < ' ') break;
      out += c;
      i++;
    }
    if (!partialOk) throw new Stop();
    truncated.push(path);
    throw new PartialString(out);
  };
  const value = (path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new Stop();
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      try {
        ws();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        for (;;) {
          ws();
          if (text[i] !== '"') throw new Stop();
          const key = str(path, false);
          ws();
          if (text[i] !== ':') throw new Stop();
          i++;
          const sub = path ? `${path}.${key}` : key;
          try {
            obj[key] = value(sub, depth + 1);
          } catch (e) {
            if (e instanceof PartialString) obj[key] = e.prefix;
            else if (e instanceof PartialValue) obj[key] = e.value;
            throw new PartialValue(obj);
          }
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === '}') {
            i++;
            return obj;
          }
          throw new Stop();
        }
      } catch (e) {
        if (e instanceof PartialValue && e.value === obj) throw e;
        throw new PartialValue(obj);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      try {
        ws();
        if (text[i] === ']') {
          i++;
          return arr;
        }
        for (;;) {
          try {
            arr.push(value(`${path}[${arr.length}]`, depth + 1));
          } catch (e) {
            if (e instanceof PartialString) arr.push(e.prefix);
            else if (e instanceof PartialValue) arr.push(e.value);
            throw new PartialValue(arr);
          }
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            return arr;
          }
          throw new Stop();
        }
      } catch (e) {
        if (e instanceof PartialValue && e.value === arr) throw e;
        throw new PartialValue(arr);
      }
    }
    if (c === '"') return str(path, true);
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (lit) {
      // A number cut short ("12" of "1234") cannot be told from a whole one unless a delimiter follows.
      const end = i + lit[0].length;
      if (end >= text.length && /\d$/.test(lit[0])) throw new Stop();
      i = end;
      return JSON.parse(lit[0]) as unknown;
    }
    throw new Stop();
  };
  try {
    const v = value('', 0);
    return { value: v, complete: false, truncatedStrings: truncated };
  } catch (e) {
    if (e instanceof PartialValue) return { value: e.value, complete: false, truncatedStrings: truncated };
    if (e instanceof PartialString) return { value: e.prefix, complete: false, truncatedStrings: truncated };
    return { value: undefined, complete: false, truncatedStrings: truncated };
  }
}

/** A container that ended early: carries what was built. */
class PartialValue extends Stop {
  readonly value: unknown;
  constructor(value: unknown) {
    super('partial');
    this.value = value;
  }
}

/** A string that ended early: carries its prefix. */
class PartialString extends Stop {
  readonly prefix: string;
  constructor(prefix: string) {
    super('partial string');
    this.prefix = prefix;
  }
}
