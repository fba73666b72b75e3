// The broker and result backend createBroker/createResultBackend return: they stand for a transport family's driver,
// answer what the engine reads before connecting from the family's static data, and load the family on connect().
import { BehaviorSubject, NEVER, defer, distinctUntilChanged, from, of, switchMap, type Observable } from 'rxjs';
import type { ResultMeta } from '../protocol/result-meta.js';
import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DelayedDelivery,
  DeliveryHandler,
  ExchangeDeclaration,
  PublishRoute,
  PublishTicket,
  QueueDeclaration,
  TransportMessage,
} from './broker.interface.js';
import type { ConnectionStatus } from './connection-status.js';
import type { ChordPart, NativeChordSupport, ResultBackend, ResultBackendCapabilities, StoreTarget } from './result-backend.interface.js';
import type { TransportFamily } from './transport-family.js';

const setupErrors = new WeakSet<object>();

/**
 * True for an error building a transport on connect (its family's module failed to load, a setting or URL part was
 * refused, a driver package is missing): waiting cannot fix it, so connecting fails at once instead of retrying.
 */
export function isTransportSetupError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && setupErrors.has(error);
}

/** A family's driver must have the capabilities the family declared: the engine read those before it loaded. */
function checkCapabilities(family: TransportFamily, what: string, declared: object, actual: object): void {
  for (const [key, value] of Object.entries(declared)) {
    if ((actual as Record<string, unknown>)[key] !== value) {
      throw new TypeError(
        `transport family "${family.name}": its ${what} has ${key} = ${String((actual as Record<string, unknown>)[key])}, declared ${String(value)}`,
      );
    }
  }
}

/** Loading a family's driver once; a failed load is forgotten, so the next connect tries again. */
class Loader<T extends { status$: Observable<ConnectionStatus> }> {
  driver?: T;
  private loading?: Promise<T>;
  /**
   * the driver's status once loaded; nothing before (every reader starts from 'connecting', and the driver's own
   * first state — 'connecting' for memory, 'disconnected' for AMQP and Redis — comes when it loads, as it did)
   */
  private readonly source = new BehaviorSubject<Observable<ConnectionStatus>>(NEVER);
  readonly status$ = this.source.pipe(
    switchMap((status$) => status$),
    distinctUntilChanged(),
  );

  constructor(private readonly build: () => Promise<T>) {}

  load(): Promise<T> {
    this.loading ??= this.build().then(
      (driver) => {
        this.driver = driver;
        this.source.next(driver.status$);
        return driver;
      },
      (error: unknown) => {
        this.loading = undefined;
        if (typeof error === 'object' && error !== null) setupErrors.add(error);
        throw error;
      },
    );
    return this.loading;
  }

  /** before any load: report closed and load nothing */
  markClosed(): void {
    if (!this.loading) this.source.next(of<ConnectionStatus>('closed'));
  }

  /** the driver if one is being loaded or was (undefined when none was asked for, or its load failed) */
  async loaded(): Promise<T | undefined> {
    return this.loading?.catch(() => undefined);
  }
}

/** What a lazy broker and a lazy result backend share: the family, its loader, status, kind, connect and close. */
abstract class LazyDriver<T extends Broker | ResultBackend> {
  protected readonly loader: Loader<T>;
  readonly status$: Observable<ConnectionStatus>;

  constructor(
    protected readonly family: TransportFamily,
    build: () => Promise<T>,
  ) {
    this.loader = new Loader(build);
    this.status$ = this.loader.status$;
  }

  /** The family's driver, once loaded (tests and tools reaching a driver's own methods). */
  get driver(): T | undefined {
    return this.loader.driver;
  }

  get kind(): string {
    return this.loader.driver?.kind ?? this.family.name;
  }

  /** Load the family, then connect its driver. */
  async connect(): Promise<void> {
    await (await this.loader.load()).connect();
  }

  async close(): Promise<void> {
    const driver = await this.loader.loaded();
    if (driver) await driver.close();
    else this.loader.markClosed();
  }
}

/** A broker of a transport family whose module loads on the first `connect()` (or first use). */
export class LazyBroker extends LazyDriver<Broker> implements Broker {
  constructor(family: TransportFamily, build: () => Promise<Broker>) {
    super(family, async () => {
      const driver = await build();
      checkCapabilities(family, 'broker', family.brokerCapabilities!, driver.capabilities);
      return driver;
    });
  }

  get capabilities(): BrokerCapabilities {
    return this.family.brokerCapabilities!;
  }

  get delayedDelivery(): DelayedDelivery | undefined {
    return this.loader.driver?.delayedDelivery;
  }

  get blocked(): string | undefined {
    return this.loader.driver?.blocked;
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    await (await this.loader.load()).declareExchange(exchange);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await (await this.loader.load()).declareQueue(queue);
  }

  publish(message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void> {
    const driver = this.loader.driver;
    return driver ? driver.publish(message, route, ticket) : this.loader.load().then((d) => d.publish(message, route, ticket));
  }

  async consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer> {
    return (await this.loader.load()).consume(queues, options, onDelivery);
  }
}

/** A result backend of a transport family whose module loads on the first `connect()` (or first use). */
export class LazyResultBackend extends LazyDriver<ResultBackend> implements ResultBackend {
  readonly chord?: NativeChordSupport;

  constructor(
    family: TransportFamily,
    readonly oid: string,
    build: () => Promise<ResultBackend>,
  ) {
    super(family, async () => {
      const driver = await build();
      checkCapabilities(family, 'result backend', family.backendCapabilities!, driver.capabilities);
      if (driver.oid !== oid) throw new TypeError(`transport family "${family.name}": its result backend's oid is not the one it was given`);
      if (!!driver.chord !== !!family.nativeChords)
        throw new TypeError(`transport family "${family.name}": nativeChords does not match its result backend's chord`);
      return driver;
    });
    if (family.nativeChords) {
      const chord = async () => (await this.loader.load()).chord!;
      this.chord = {
        setSize: async (groupId: string, size: number) => (await chord()).setSize(groupId, size),
        onPartReturn: async (groupId: string, groupIndex: number | null, part: ChordPart) => (await chord()).onPartReturn(groupId, groupIndex, part),
        forget: async (groupId: string) => (await chord()).forget(groupId),
      };
    }
  }

  get capabilities(): ResultBackendCapabilities {
    return this.family.backendCapabilities!;
  }

  /** the driver's; before it loads, false (the order that is safe for every backend) */
  get watchCatchesUp(): boolean | undefined {
    return this.loader.driver?.watchCatchesUp ?? false;
  }

  store(meta: ResultMeta, target: StoreTarget): Promise<void> {
    // once loaded, the driver's own promise: no async frame and no await of the settled load per result
    const driver = this.loader.driver;
    if (!driver) return this.loader.load().then((d) => d.store(meta, target));
    try {
      return driver.store(meta, target);
    } catch (error) {
      // a family's store that throws instead of rejecting fails the same way as through an async method
      return Promise.reject(error);
    }
  }

  async onTaskCall(taskId: string): Promise<void> {
    await (await this.loader.load()).onTaskCall(taskId);
  }

  watch(taskId: string): Observable<ResultMeta> {
    const driver = this.loader.driver;
    return driver ? driver.watch(taskId) : defer(() => from(this.loader.load())).pipe(switchMap((d) => d.watch(taskId)));
  }

  async get(taskId: string): Promise<ResultMeta | undefined> {
    return (await this.loader.load()).get(taskId);
  }

  async forget(taskId: string): Promise<void> {
    await (await this.loader.load()).forget(taskId);
  }
}
