/**
 * Parsers for the unit-carrying strings the configuration accepts: byte
 * quantities in Kubernetes notation ("75Gi"), transfer rates ("200Mi/s") and
 * durations ("90s", "15m", "1500ms").
 */

const BINARY_SUFFIXES: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

const DECIMAL_SUFFIXES: Record<string, number> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

export const QUANTITY_PATTERN = /^([1-9][0-9]*)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
export const RATE_PATTERN = /^([1-9][0-9]*)(Ki|Mi|Gi|k|M|G)?\/s$/;
export const DURATION_PATTERN = /^([1-9][0-9]*)(ms|s|m|h)$/;

/** Converts a byte quantity such as "75Gi" or "500M" to bytes. */
export function parseBytes(quantity: string): number {
  const match = QUANTITY_PATTERN.exec(quantity);
  if (!match) {
    throw new Error(`invalid byte quantity "${quantity}"; use an integer with an optional Ki, Mi, Gi, Ti, k, M, G or T suffix`);
  }
  const suffix = match[2] ?? '';
  const factor = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix];
  return Number(match[1]) * factor;
}

/** Converts a transfer rate such as "200Mi/s" to bytes per second. */
export function parseRate(rate: string): number {
  const match = RATE_PATTERN.exec(rate);
  if (!match) {
    throw new Error(`invalid rate "${rate}"; use a byte quantity followed by /s, for example 200Mi/s`);
  }
  return parseBytes(match[1] + (match[2] ?? ''));
}

const DURATION_FACTORS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Converts a duration such as "90s" or "1500ms" to milliseconds. */
export function parseDurationMs(duration: string): number {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) {
    throw new Error(`invalid duration "${duration}"; use an integer followed by ms, s, m or h`);
  }
  return Number(match[1]) * DURATION_FACTORS_MS[match[2]];
}

/** Converts a duration to whole seconds, rounding up so a timeout never shrinks. */
export function parseDurationSeconds(duration: string): number {
  return Math.ceil(parseDurationMs(duration) / 1000);
}

/** Formats bytes as a Kubernetes quantity in whole mebibytes, rounding up. */
export function formatMebibytes(bytes: number): string {
  return `${Math.ceil(bytes / BINARY_SUFFIXES.Mi)}Mi`;
}
