import { AmqpConfigError } from './amqp-errors.js';
import { normalizeAmqpUrl, parseAmqpUrls, redactAmqpUrl } from './amqp-url.js';

describe('AMQP broker URLs', () => {
  it("keeps kombu's trailing // (vhost '/') and other vhosts as they are", () => {
    expect(normalizeAmqpUrl('amqp://guest:guest@127.0.0.1:5672//')).toBe('amqp://guest:guest@127.0.0.1:5672//');
    expect(normalizeAmqpUrl('amqp://u:p@h:5672/celery')).toBe('amqp://u:p@h:5672/celery');
    expect(normalizeAmqpUrl('amqp://u:p@h/%2F')).toBe('amqp://u:p@h/%2F');
  });

  it('reads pyamqp:// as amqp:// and keeps amqps://', () => {
    expect(normalizeAmqpUrl('pyamqp://guest@localhost//')).toBe('amqp://guest@localhost//');
    expect(normalizeAmqpUrl('AMQPS://h:5671/v')).toBe('amqps://h:5671/v');
  });

  it('defaults the host and adds the heartbeat unless the URL has one', () => {
    expect(normalizeAmqpUrl('amqp://', { heartbeatSeconds: 30 })).toBe('amqp://localhost?heartbeat=30');
    expect(normalizeAmqpUrl('amqp://h//?heartbeat=5', { heartbeatSeconds: 30 })).toBe('amqp://h//?heartbeat=5');
    expect(() => normalizeAmqpUrl('amqp://h', { heartbeatSeconds: -1 })).toThrow(AmqpConfigError);
  });

  it("splits kombu's ;-separated failover list, or takes an array", () => {
    expect(parseAmqpUrls('amqp://a//; pyamqp://b//')).toEqual(['amqp://a//', 'amqp://b//']);
    expect(parseAmqpUrls(['amqp://a//', 'amqps://b//'])).toEqual(['amqp://a//', 'amqps://b//']);
    expect(() => parseAmqpUrls(' ; ')).toThrow(/no broker URL/);
  });

  it('refuses other schemes with a message that hides the password', () => {
    expect(() => normalizeAmqpUrl('redis://:hunter2@localhost:6379/0')).toThrow(AmqpConfigError);
    expect(() => normalizeAmqpUrl('redis://u:hunter2@localhost:6379/0')).toThrow(/u:\*\*\*\*@localhost.*use amqp:\/\//);
    expect(() => normalizeAmqpUrl('redis://u:hunter2@localhost:6379/0')).not.toThrow(/hunter2/);
  });

  it('redacts passwords', () => {
    expect(redactAmqpUrl('amqp://guest:secret@h:5672//')).toBe('amqp://guest:****@h:5672//');
    expect(redactAmqpUrl('amqp://h:5672//')).toBe('amqp://h:5672//');
  });
});
