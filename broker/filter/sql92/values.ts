/**
 * The Java value model RocketMQ's filter evaluates in (`FL/expression/ComparisonExpression.java#__compare`), so that
 * comparisons, conversions and their failures match the real broker: properties are Strings, integer literals are
 * Integer (or Long past 32 bits), float literals are Double, and with `convertStringExpressions` on a String compared
 * with a number is parsed as that number's type with `Integer.valueOf` / `Long.valueOf` / `Double.valueOf`.
 */

export type JavaNumber =
  | { type: 'int'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'double'; value: number };

/** What an expression evaluates to: Java's null, Boolean, String or one of the numbers above. */
export type Sql92Value = null | boolean | string | JavaNumber;

/**
 * A Java exception during evaluation (a String that does not parse as the number it is compared with, a Boolean
 * compared with a String). RocketMQ lets it escape the whole evaluation, and the message counts as not matched.
 */
export class Sql92EvaluationError extends Error {
  override name = 'Sql92EvaluationError';
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

export const isNumber = (v: Sql92Value): v is JavaNumber => typeof v === 'object' && v !== null;

export function javaInt(value: number): JavaNumber {
  return { type: 'int', value };
}

/** `Integer.valueOf(String)`: optional sign, ASCII digits, 32-bit range; otherwise NumberFormatException. */
function parseInteger(text: string, min: bigint, max: bigint): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new Sql92EvaluationError(`For input string: "${text}"`);
  const value = BigInt(text);
  if (value < min || value > max) throw new Sql92EvaluationError(`For input string: "${text}" (out of range)`);
  return value;
}

/**
 * `Double.valueOf(String)`: surrounding control characters and spaces trimmed, optional sign, NaN, Infinity,
 * decimal digits with an optional exponent and an optional f/F/d/D suffix. Java's hexadecimal floats (`0x1p3`) are
 * not accepted here; they are the one known difference.
 */
export function parseJavaDouble(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: String.trim removes every char <= U+0020
  const trimmed = text.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
  const match = /^([+-]?)(NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?$/.exec(trimmed);
  if (!match) throw new Sql92EvaluationError(`For input string: "${text}"`);
  const magnitude = match[2] === 'NaN' ? Number.NaN : Number(match[2]);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Converts a String property to the type of the number it is compared with. */
function stringAs(text: string, like: JavaNumber): JavaNumber {
  switch (like.type) {
    case 'int':
      return { type: 'int', value: Number(parseInteger(text, INT_MIN, INT_MAX)) };
    case 'long':
      return { type: 'long', value: parseInteger(text, LONG_MIN, LONG_MAX) };
    case 'double':
      return { type: 'double', value: parseJavaDouble(text) };
  }
}

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** `Double.compare`: NaN equals itself and is above everything; -0.0 is below 0.0. */
function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  if (a === 0 && b === 0 && !Object.is(a, b)) return Object.is(a, -0) ? -1 : 1;
  return 0;
}

/** Two Strings ordered with `>`, `<`…: both parsed with `Double.valueOf`, or Sql92EvaluationError. */
export function compareAsDoubles(lv: string, rv: string): number {
  return compareDoubles(parseJavaDouble(lv), parseJavaDouble(rv));
}

const asDouble = (n: JavaNumber): number => Number(n.value);

/** Java's binary numeric promotion for two numbers of possibly different types. */
function compareNumbers(a: JavaNumber, b: JavaNumber): number {
  if (a.type === 'double' || b.type === 'double') return compareDoubles(asDouble(a), asDouble(b));
  if (a.type === 'int' && b.type === 'int') return sign(a.value - b.value);
  const x = BigInt(a.value);
  const y = BigInt(b.value);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `__compare(lv, rv, true)` for non-null values: same types compare naturally; a number and a String convert the
 * String (failing with Sql92EvaluationError); a String and a Boolean parse the String as a Boolean; a Boolean with
 * a String throws (a ClassCastException in RocketMQ); any other mix is -1.
 */
export function javaCompare(lv: Exclude<Sql92Value, null>, rv: Exclude<Sql92Value, null>): number {
  if (isNumber(lv)) {
    if (isNumber(rv)) return compareNumbers(lv, rv);
    if (typeof rv === 'string') return compareNumbers(lv, stringAs(rv, lv));
    return -1;
  }
  if (typeof lv === 'string') {
    if (typeof rv === 'string') return lv < rv ? -1 : lv > rv ? 1 : 0;
    if (isNumber(rv)) return compareNumbers(stringAs(lv, rv), rv);
    return compareBooleans(lv.toLowerCase() === 'true', rv);
  }
  if (typeof rv === 'boolean') return compareBooleans(lv, rv);
  if (typeof rv === 'string') throw new Sql92EvaluationError('a Boolean cannot be compared with a String');
  return -1;
}

const compareBooleans = (a: boolean, b: boolean): number => (a === b ? 0 : a ? 1 : -1);

/** Literal text of a DECIMAL_LITERAL (digits, `L` already dropped) as RocketMQ builds it: Integer if it fits. */
export function integerLiteral(digits: string): JavaNumber | undefined {
  const value = BigInt(digits);
  if (value > LONG_MAX) return undefined;
  return value <= INT_MAX ? { type: 'int', value: Number(value) } : { type: 'long', value };
}

/** Java's unary minus; Integer and Long wrap on their minimum, as Java does. */
export function negate(n: JavaNumber): JavaNumber {
  switch (n.type) {
    case 'int':
      return { type: 'int', value: n.value === -(2 ** 31) ? n.value : -n.value };
    case 'long':
      return { type: 'long', value: n.value === LONG_MIN ? n.value : -n.value };
    case 'double':
      return { type: 'double', value: -n.value };
  }
}

/** For messages: `'x'`, `10`, `10L`, `2.5`, `TRUE`, `NULL`. */
export function describeValue(v: Sql92Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  if (v.type === 'long') return `${v.value}L`;
  return String(v.value);
}
