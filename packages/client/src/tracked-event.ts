import { TastemakerClientError } from './errors.js';
import { EVENT_TYPES, type EventType, type TrackedEvent } from './types.js';

export const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

const invalid = (message: string) => new TastemakerClientError('INVALID_ARGUMENT', `Event dropped: ${message}`);

/** RFC 4122 v4 layout from an injected PRNG, for tests and for pages without a secure context. */
export const uuidFrom = (random: () => number): string =>
  'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (random() * 16) | 0;
    return (c === 'x' ? r : (r & 3) | 8).toString(16);
  });

/**
 * Validates untrusted input (apps call `track` from plain JS too) and fills in eventId and timestamp.
 * Throws TastemakerClientError; `track` turns that into an onError report.
 */
export function buildEvent(
  type: unknown,
  props: unknown,
  defaults: { userId: string | undefined; now: () => number; newId: () => string },
): TrackedEvent {
  if (!EVENT_TYPES.includes(type as EventType)) {
    throw invalid(`unknown type ${String(type)}. Valid values: ${EVENT_TYPES.join(', ')}.`);
  }
  if (!isRecord(props)) throw invalid('props must be an object with at least itemId.');
  const str = (name: string, v: unknown = props[name]) => {
    if (typeof v !== 'string' || !v) throw invalid(`${name} must be a non-empty string.`);
    return v;
  };
  const num = (name: string, ok: (n: number) => boolean) => {
    const v = props[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !ok(v)) throw invalid(`${name} is out of range: ${String(v)}.`);
    return v;
  };
  const event: TrackedEvent = {
    eventId: props.eventId === undefined ? defaults.newId() : str('eventId'),
    type: type as EventType,
    userId: str('userId', props.userId ?? defaults.userId),
    itemId: str('itemId'),
    timestamp: num('timestamp', Number.isFinite) ?? defaults.now(),
  };
  if (props.recommId !== undefined) event.recommId = str('recommId');
  const position = num('position', (n) => Number.isInteger(n) && n >= 0);
  if (position !== undefined) event.position = position;
  const value = num('value', Number.isFinite);
  if (value !== undefined) event.value = value;
  else if (type === 'rating' || type === 'dwell') throw invalid(`${type} events need a numeric value.`);
  if (props.context !== undefined) {
    if (!isRecord(props.context)) throw invalid('context must be a plain object.');
    event.context = props.context;
  }
  // Catches cycles and BigInts now, while the app's stack is still there to blame, not at flush time.
  JSON.stringify(event);
  return event;
}
