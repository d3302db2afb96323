import { canDelete, canInvite, memberActions, typingText, type Me, type MemberLike } from './members-rules';

describe('members rules', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const member = (id: string, role: MemberLike['role'], mutedUntil: string | null = null): MemberLike => ({ id, role, mutedUntil });
  const owner: Me = { id: 'o', role: 'owner', isAdmin: false };
  const mod: Me = { id: 'm', role: 'moderator', isAdmin: false };
  const plain: Me = { id: 'p', role: 'member', isAdmin: false };

  it('gives the owner every action on others, never on itself', () => {
    expect(memberActions(owner, member('x', 'member'), now)).toEqual(['make-moderator', 'mute', 'remove', 'ban']);
    expect(memberActions(owner, member('m', 'moderator', '2026-01-01T12:10:00Z'), now)).toEqual(['make-member', 'unmute', 'remove', 'ban']);
    expect(memberActions(owner, member('o', 'owner'), now)).toEqual([]);
  });

  it('lets a moderator act on plain members only, without role changes; a plain member nothing', () => {
    expect(memberActions(mod, member('x', 'member', '2026-01-01T11:00:00Z'), now)).toEqual(['mute', 'remove', 'ban']); // a lapsed mute
    expect(memberActions(mod, member('m2', 'moderator'), now)).toEqual([]);
    expect(memberActions(mod, member('o', 'owner'), now)).toEqual([]);
    expect(memberActions(plain, member('x', 'member'), now)).toEqual([]);
  });

  it('treats a global admin as the owner', () => {
    expect(memberActions({ id: 'a', role: null, isAdmin: true }, member('m', 'moderator'), now)).toEqual(['make-member', 'mute', 'remove', 'ban']);
  });

  it('invites and deletes as the contract allows', () => {
    expect([canInvite(owner), canInvite(mod), canInvite(plain)]).toEqual([true, true, false]);
    expect(canDelete(plain, 'p')).toBe(true);
    expect(canDelete(plain, 'x')).toBe(false);
    expect(canDelete(mod, 'x')).toBe(true);
  });

  it('says who is typing, leaving oneself out', () => {
    const u = (id: string) => ({ id, username: id.toUpperCase() });
    expect(typingText([], 'a')).toBe('');
    expect(typingText([u('a')], 'a')).toBe('');
    expect(typingText([u('a'), u('b')], 'a')).toBe('B is typing…');
    expect(typingText([u('b'), u('c')], 'a')).toBe('B and C are typing…');
    expect(typingText([u('b'), u('c'), u('d')], 'a')).toBe('B, C and D are typing…');
  });
});
