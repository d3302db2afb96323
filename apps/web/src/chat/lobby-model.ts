/**
 * Pure rules of the lobby (no DOM): what the user typed → a room id or a message to show, and
 * the labels of the room list. The server stays the authority on every limit; these checks only
 * give an immediate, plain message before a round trip (CONTRACT.md "HTTP API").
 */
import type { RoomListEntry } from '../api';

/** A user error found on the client, shown like the API's own 400 (`invalid: <message>`). */
export interface InputProblem {
  code: 'invalid';
  message: string;
}

const ROOM_NAME_MAX = 100;
const SEARCH_MAX = 200;

const problem = (message: string): InputProblem => ({ code: 'invalid', message });

/** U+0000 or a lone surrogate: text the API refuses (it never reaches the log). */
function unstorable(text: string): boolean {
  return /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** The room name to send (trimmed, as the API trims it), or what is wrong with it. */
export function checkRoomName(input: string): { name: string } | InputProblem {
  const name = input.trim();
  if (name.length === 0) return problem('give the room a name');
  if (name.length > ROOM_NAME_MAX) return problem(`a room name has at most ${ROOM_NAME_MAX} characters (this one has ${name.length})`);
  if (unstorable(name)) return problem('the room name holds characters that cannot be stored');
  return { name };
}

/** The search query to send (trimmed), or what is wrong with it. */
export function checkSearchQuery(input: string): { q: string } | InputProblem {
  const q = input.trim();
  if (q.length === 0) return problem('type a word to search for');
  if (q.length > SEARCH_MAX) return problem(`a search has at most ${SEARCH_MAX} characters (this one has ${q.length})`);
  if (unstorable(q)) return problem('the search holds characters that cannot be stored');
  return { q };
}

/**
 * The room id in what a user pasted into "join": a bare id, or a shared link
 * (`https://host/r/<id>`, `/r/<id>`, with or without a query or fragment). Null when it is
 * neither (empty, another path of the app, a malformed %-escape).
 */
export function parseRoomRef(input: string): string | null {
  const text = input.trim();
  if (text.length === 0) return null;
  if (!text.includes('/')) return /\s/.test(text) ? null : text;
  const path = text.replace(/[?#].*$/, '');
  const match = /(?:^|\/)r\/([^/]+)\/?$/.exec(path);
  if (!match) return null;
  try {
    const id = decodeURIComponent(match[1]!);
    return id.length > 0 && !id.includes('/') ? id : null;
  } catch {
    return null;
  }
}

/** The `.role` text of a room in "My rooms": `private · owner`. */
export function roomRoleLabel(room: Pick<RoomListEntry, 'visibility' | 'role'>): string {
  return `${room.visibility} · ${room.role}`;
}

/** The unread badge (text and accessible name), or null for a room with nothing unread. */
export function unreadBadge(unread: number): { text: string; label: string } | null {
  if (!Number.isFinite(unread) || unread <= 0) return null;
  const n = Math.floor(unread);
  return { text: String(n), label: `${n} unread` };
}

/** The text above the search results: "No matches" when there are none. */
export function searchSummary(hits: number, q: string): string {
  if (hits === 0) return `No matches for “${q}”`;
  return hits === 1 ? `1 match for “${q}”` : `${hits} matches for “${q}”`;
}
