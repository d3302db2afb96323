import { DomainError } from '../../domain/src';
import type { Database } from './database';

export type Role = 'user' | 'admin';

export interface UserRecord {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
}

export class UserRepository {
  constructor(private readonly db: Database) {}

  /** Inserts a user; a taken username is `username_taken`. */
  async create(username: string, passwordHash: string, role: Role = 'user'): Promise<UserRecord> {
    try {
      const user = await this.db.prisma.user.create({ data: { username, passwordHash, role } });
      return { id: user.id, username: user.username, passwordHash: user.passwordHash, role: user.role as Role };
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') throw new DomainError('username_taken', `username "${username}" is taken`);
      throw err;
    }
  }

  async findByUsername(username: string): Promise<UserRecord | null> {
    const user = await this.db.prisma.user.findUnique({ where: { username } });
    return user && { id: user.id, username: user.username, passwordHash: user.passwordHash, role: user.role as Role };
  }

  /** Creates the user as admin, or promotes and re-keys an existing one (CLI `create-admin`). */
  async upsertAdmin(username: string, passwordHash: string): Promise<UserRecord> {
    const user = await this.db.prisma.user.upsert({
      where: { username },
      create: { username, passwordHash, role: 'admin' },
      update: { passwordHash, role: 'admin' },
    });
    return { id: user.id, username: user.username, passwordHash: user.passwordHash, role: 'admin' };
  }
}
