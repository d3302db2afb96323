import { z } from 'zod';
import { DomainError } from './errors';
import { MAX_CLIENT_MSG_ID_LENGTH, MAX_EMOJI_LENGTH, MAX_MUTE_SECONDS, MAX_REASON_LENGTH, MAX_TEXT_LENGTH } from './socket-events';

/**
 * U+0000 (Postgres text and jsonb refuse it) or a lone surrogate (not Unicode at all: jsonb
 * refuses its escape, and a text column would silently store U+FFFD instead). With the `u` flag
 * `\p{Cs}` matches only unpaired surrogates, since a valid pair is read as one code point.
 */
const UNSTORABLE = /[\0\p{Cs}]/u;

/** The contract's text rule: valid Unicode without U+0000, so the log can hold it as it is. */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/**
 * The building block of every text field at every edge (HTTP, socket, CLI): a string that obeys
 * the text rule. Chain length checks after it, e.g. `storableText().min(1).max(100)`.
 */
export function storableText() {
  return z.string().refine(isStorableText, { message: 'must be valid Unicode without U+0000 or lone surrogates' });
}

/**
 * Edge validation schemas, pure and shared by HTTP and WebSocket handlers. Every object is
 * strict: a field the contract does not name is `invalid`. Every string field is a
 * `storableText()`, so nothing the database would refuse gets past the edge.
 */
/** The largest seq there can be: `seq` columns are Postgres `int4`, which refuses anything above. */
const MAX_SEQ = 2_147_483_647;
const seq = z.number().int().min(1).max(MAX_SEQ);
/**
 * A seq in a query string (`after`, `before`): digits whose value is 0..MAX_SEQ, so a number the
 * database would refuse is `invalid` here instead of a 500 there (DESIGN.md invariant 9).
 */
const seqParam = (name: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, `${name} must be a seq`)
    .transform(Number)
    .pipe(z.number().int().max(MAX_SEQ, `${name} must be at most ${MAX_SEQ}`));
/** A user id in a socket payload: ids are UUIDs, anything else is `invalid`. */
const userId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a user id');
const reason = storableText().max(MAX_REASON_LENGTH);
const username = storableText()
  .min(3)
  .max(32)
  .regex(/^[a-z0-9_.-]+$/, 'username may only contain a-z, 0-9, "_", "." and "-"');
const text = storableText().min(1).max(MAX_TEXT_LENGTH);
/**
 * One emoji or a `:shortcode:` (CONTRACT.md), 1–32 characters: a shortcode is `:name:` of
 * letters, digits, `_`, `+` and `-`; otherwise the text must be one grapheme (one user-perceived
 * character, so a family or a flag with its joiners counts once) that is pictographic (an emoji,
 * with its modifiers, joiners and variation selectors), with no whitespace or letters.
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const isOneGrapheme = (v: string) => {
  let n = 0;
  for (const _ of graphemes.segment(v)) if (++n > 1) return false;
  return n === 1;
};
const SHORTCODE = /^:[a-z0-9_+-]{1,30}:$/i;
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3)+$/u;
const emoji = storableText()
  .min(1)
  .max(MAX_EMOJI_LENGTH)
  .refine((v) => SHORTCODE.test(v) || (EMOJI.test(v) && /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u.test(v) && isOneGrapheme(v)), {
    message: 'must be one emoji or a :shortcode:',
  });

export const schemas = {
  register: z.strictObject({
    username,
    password: storableText().min(8).max(128),
  }),
  login: z.strictObject({
    username: storableText().min(1).max(32),
    password: storableText().min(1).max(128),
  }),
  createRoom: z.strictObject({
    name: storableText().trim().min(1).max(100),
    visibility: z.enum(['public', 'private']).optional(),
  }),
  /** GET /rooms: `before` is the opaque cursor of the previous page. */
  roomsQuery: z.strictObject({
    limit: z
      .string()
      .regex(/^\d{1,4}$/, 'limit must be an integer')
      .transform(Number)
      .pipe(z.number().int().min(1).max(100))
      .optional(),
    before: z.string().min(1).max(200).optional(),
  }),
  historyQuery: z
    .strictObject({
      after: seqParam('after').optional(),
      before: seqParam('before').optional(),
      limit: z
        .string()
        .regex(/^\d{1,4}$/, 'limit must be an integer')
        .transform(Number)
        .pipe(z.number().int().min(1).max(500))
        .optional(),
    })
    .refine((q) => q.after === undefined || q.before === undefined, {
      message: 'after and before cannot be combined',
    }),
  join: z.strictObject({ afterSeq: z.number().int().min(0).max(MAX_SEQ).optional() }),
  send: z.strictObject({
    clientMsgId: storableText().min(1).max(MAX_CLIENT_MSG_ID_LENGTH),
    text,
    replyTo: seq.optional(),
  }),
  reaction: z.strictObject({ seq, emoji }),
  typing: z.strictObject({ active: z.boolean() }),
  edit: z.strictObject({ seq, text }),
  delete: z.strictObject({ seq }),
  /** `read:mark`: 0 is allowed (nothing read), the gateway caps it at the room's head. */
  readMark: z.strictObject({ seq: z.number().int().min(0).max(MAX_SEQ) }),
  /** GET /rooms/:id/search */
  roomSearchQuery: z.strictObject({
    q: storableText().min(1).max(200),
    limit: z.string().regex(/^\d{1,4}$/, 'limit must be an integer').transform(Number).pipe(z.number().int().min(1).max(100)).optional(),
    before: seqParam('before').optional(),
  }),
  /** GET /search */
  searchQuery: z.strictObject({
    q: storableText().min(1).max(200),
    limit: z.string().regex(/^\d{1,4}$/, 'limit must be an integer').transform(Number).pipe(z.number().int().min(1).max(100)).optional(),
  }),
  leave: z.strictObject({}),
  invite: z.strictObject({ username }),
  role: z.strictObject({ userId, role: z.enum(['moderator', 'member']) }),
  remove: z.strictObject({ userId, reason: reason.optional() }),
  ban: z.strictObject({ userId, reason: reason.optional() }),
  unban: z.strictObject({ userId }),
  mute: z.strictObject({ userId, seconds: z.number().int().min(0).max(MAX_MUTE_SECONDS) }),
} as const;

/** Parses `input` or throws `DomainError('invalid')` naming the first offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? undefined);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'payload';
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : `${where}: ${issue?.message ?? 'invalid'}`;
  throw new DomainError('invalid', message);
}
