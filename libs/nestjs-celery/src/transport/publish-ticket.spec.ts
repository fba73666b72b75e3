// Unit tests for publish tickets: a cancelled publish is never written; a written one is marked.
import { claimTicket, PublishCancelledError, type PublishTicket } from './broker.interface.js';

describe('publish tickets', () => {
  test('claiming marks the ticket written; a cancelled ticket refuses the write', () => {
    const ticket: PublishTicket = { cancelled: false, written: false };
    claimTicket(ticket);
    expect(ticket.written).toBe(true);
    const cancelled: PublishTicket = { cancelled: true, written: false };
    expect(() => claimTicket(cancelled)).toThrow(PublishCancelledError);
    expect(cancelled.written).toBe(false);
    expect(() => claimTicket(undefined)).not.toThrow();
  });
});
