import { ackFailureLevel } from './ack-failure';

describe(ackFailureLevel.name, () => {
  it('logs a command the room could not commit at warn: log down, fence, data refused by the database', () => {
    expect(ackFailureLevel('room', 'unavailable', false)).toBe('warn');
    expect(ackFailureLevel('room', 'invalid', false)).toBe('warn');
  });

  it('logs what a client causes at will at debug only', () => {
    expect(ackFailureLevel('edge', 'invalid', false)).toBe('debug');
    expect(ackFailureLevel('edge', 'rate_limited', false)).toBe('debug');
    expect(ackFailureLevel('room', 'forbidden', false)).toBe('debug');
    expect(ackFailureLevel('room', 'not_found', false)).toBe('debug');
    expect(ackFailureLevel('room', 'room_moved', false)).toBe('debug');
  });

  it('logs an unexpected error at error, wherever it happened', () => {
    expect(ackFailureLevel('edge', 'unavailable', true)).toBe('error');
    expect(ackFailureLevel('room', 'unavailable', true)).toBe('error');
  });
});
