// Redis Sentinel URL lists as kombu and Celery read them: one endpoint, the master by name.
import { readBrokerTransportOptions, TransportOptionsError } from '../transport-options.js';
import { isSentinelUrl, parseRedisUrls, parseSentinelUrls, RedisUrlError } from './redis-url.js';

describe('sentinel:// URLs', () => {
  it('fold a ;-separated list into one endpoint naming the sentinels and the master', () => {
    const [endpoint, ...rest] = parseRedisUrls('sentinel://:s3cret@127.0.0.1:26490/2;sentinel://127.0.0.1:26491;sentinel://h3', undefined, {
      masterName: 'mymaster',
      sentinelPassword: 'sp',
    });
    expect(rest).toEqual([]);
    expect(endpoint.db).toBe(2);
    expect(endpoint.options).toEqual({
      sentinels: [
        { host: '127.0.0.1', port: 26490 },
        { host: '127.0.0.1', port: 26491 },
        { host: 'h3', port: 26379 },
      ],
      name: 'mymaster',
      role: 'master',
      db: 2,
      password: 's3cret',
      sentinelPassword: 'sp',
    });
    expect(endpoint.display).not.toContain('s3cret');
    expect(endpoint.display).toContain('master mymaster');
  });

  it('need the master name, and cannot mix schemes', () => {
    expect(isSentinelUrl('sentinel://h:1;sentinel://h:2')).toBe(true);
    expect(isSentinelUrl(['redis://h'])).toBe(false);
    expect(() => parseRedisUrls('sentinel://h:26379')).toThrow(/master_name/);
    expect(() => parseSentinelUrls('sentinel://h:1;redis://h:2', { masterName: 'm' }, 'x')).toThrow(RedisUrlError);
  });

  it('take master_name and sentinel_kwargs from the transport options, checked', () => {
    expect(readBrokerTransportOptions({ master_name: 'm', sentinel_kwargs: { password: 'p' } }, 'redis')).toEqual({
      master_name: 'm',
      sentinel_kwargs: { password: 'p' },
    });
    expect(() => readBrokerTransportOptions({ sentinel_kwargs: { socket_timeout: 1 } }, 'redis')).toThrow(TransportOptionsError);
    expect(readBrokerTransportOptions({ master_name: 'm' }, 'amqp')).toEqual({});
  });
});
