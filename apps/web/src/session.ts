/**
 * The signed-in user of this browser: the token and user from register/login, kept in
 * localStorage so that a reload, a second tab and a shared link opened later stay signed in.
 */
import type { AuthResult, User } from './api';

const TOKEN_KEY = 'durable-rooms.token';
const USER_KEY = 'durable-rooms.user';

export class Session {
  private current: AuthResult | null;

  constructor(private readonly storage: Storage = window.localStorage) {
    this.current = Session.read(storage);
  }

  get token(): string | null {
    return this.current?.token ?? null;
  }

  get user(): User | null {
    return this.current?.user ?? null;
  }

  get isAdmin(): boolean {
    return this.current?.user.role === 'admin';
  }

  signIn(result: AuthResult): void {
    this.current = result;
    this.storage.setItem(TOKEN_KEY, result.token);
    this.storage.setItem(USER_KEY, JSON.stringify(result.user));
  }

  /**
   * Forgets the token and user, nothing else: the outboxes of the client library
   * (`durable-rooms.outbox.<userId>:<roomId>`) stay, so the messages a user had not got sent when
   * the session expired are shown and sent once the same user signs in again. Another account
   * signing in on this browser never sends them: the outbox is keyed by the user.
   */
  signOut(): void {
    this.current = null;
    this.storage.removeItem(TOKEN_KEY);
    this.storage.removeItem(USER_KEY);
  }

  private static read(storage: Storage): AuthResult | null {
    const token = storage.getItem(TOKEN_KEY);
    if (!token) return null;
    try {
      const user = JSON.parse(storage.getItem(USER_KEY) ?? 'null') as User | null;
      if (!user || typeof user.id !== 'string' || typeof user.username !== 'string') return null;
      return { token, user };
    } catch {
      return null;
    }
  }
}
