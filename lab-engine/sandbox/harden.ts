/**
 * Freezes the JavaScript built-ins of the realm learner code runs in, so a submission cannot fool
 * the lab's checks by patching what they use (`Array.prototype.push = …`, `Math.max = …`,
 * `JSON.stringify = …`, `Object.freeze = …`). Learner code shares its realm with the engine and the
 * checks (one Worker / worker thread per run), so this is called once in each runner — the
 * browser Worker (src/lab-runtime/worker.ts) and the CLI's seed worker (lab-engine/node/) — before
 * any learner code is compiled. The technique is the one SES `lockdown()` uses, reduced to what
 * this engine needs: a frozen set of intrinsics, plus accessor shims for the few inherited
 * properties ordinary code assigns on its own objects (`err.name = …`, `x.toString = …`), which a
 * frozen prototype would otherwise turn into TypeErrors in strict code ("the override mistake").
 *
 * Not a security boundary against a determined attacker (the CLI's worker can still reach Node
 * through `process`); it closes the easy, silent way of faking a result. Pure: no DOM, no Node.
 */

/** Inherited data properties that ordinary code shadows by assignment (SES's "moderate" list, trimmed). */
const OVERRIDABLE: Record<string, readonly string[]> = {
  'Object.prototype': ['constructor', 'toString', 'toLocaleString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable'],
  'Error.prototype': ['name', 'message', 'constructor', 'toString'],
  'Function.prototype': ['constructor', 'toString'],
  'Array.prototype': ['constructor', 'toString'],
  'Promise.prototype': ['constructor', 'then'],
};

const GLOBALS = [
  'Object', 'Function', 'Array', 'Number', 'String', 'Boolean', 'Symbol', 'BigInt', 'Math', 'JSON', 'Reflect', 'Proxy',
  'Date', 'RegExp', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Promise', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
  'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI',
] as const;

let hardened = false;

/** Turn an inherited data property into a getter/setter pair: reads unchanged, writes land on the receiver. */
function makeOverridable(proto: object, key: string): void {
  const desc = Object.getOwnPropertyDescriptor(proto, key);
  if (!desc || !('value' in desc)) return;
  const value: unknown = desc.value;
  Object.defineProperty(proto, key, {
    get() {
      return value;
    },
    set(this: object, v: unknown) {
      if (this === proto) throw new TypeError(`Cannot assign to read only property '${key}' of a built-in prototype (the lab's built-ins are frozen)`);
      Object.defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
    },
    enumerable: desc.enumerable ?? false,
    configurable: false,
  });
}

/** Deep-freeze an object graph of built-ins (own properties, accessors' functions, prototypes). */
function deepFreeze(root: unknown, seen: Set<unknown>): void {
  const stack: unknown[] = [root];
  while (stack.length) {
    const o = stack.pop();
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) continue;
    seen.add(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (!d) continue;
      if ('value' in d) stack.push(d.value);
      else stack.push(d.get, d.set);
    }
    stack.push(Object.getPrototypeOf(o));
    Object.freeze(o);
  }
}

/**
 * Freeze the realm's intrinsics and make the names that reach them read-only on the global
 * object. Idempotent. Returns the number of objects frozen (for tests and the bench).
 */
export function hardenIntrinsics(): number {
  if (hardened) return 0;
  hardened = true;
  const g = globalThis as unknown as Record<string, unknown>;
  const protoOf: Record<string, object> = {
    'Object.prototype': Object.prototype,
    'Error.prototype': Error.prototype,
    'Function.prototype': Function.prototype,
    'Array.prototype': Array.prototype,
    'Promise.prototype': Promise.prototype,
  };
  for (const [name, keys] of Object.entries(OVERRIDABLE)) for (const k of keys) makeOverridable(protoOf[name]!, k);
  const seen = new Set<unknown>();
  // Intrinsics no global name reaches: iterator and generator prototypes, TypedArray.
  const hidden = [
    Object.getPrototypeOf(Uint8Array),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(''[Symbol.iterator]()),
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
  ];
  for (const name of GLOBALS) {
    if (!(name in g)) continue;
    deepFreeze(g[name], seen);
    try {
      Object.defineProperty(g, name, { writable: false, configurable: false });
    } catch {
      /* a host that does not let the global be redefined keeps the frozen value reachable anyway */
    }
  }
  for (const h of hidden) deepFreeze(h, seen);
  return seen.size;
}
