/**
 * Autoscale through the Nest face (memory transport): `CeleryModule.forRoot({ worker: { autoscale } })` reaches
 * the worker, which runs up to max tasks at once under a burst, reports Celery's `autoscaler` stats to the
 * app's own CeleryClient.control, and returns to min after the keepalive.
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryTask } from 'nestjs-celery';
import { eventually } from '../support/eventually.js';
import { memoryUrls } from './support/memory-urls.js';

const gate = { running: 0, most: 0, open: (): void => undefined, opened: Promise.resolve() };

@Injectable()
class HeldTasks {
  /** runs until the test opens the gate */
  @CeleryTask('autoscale.hold')
  async hold(): Promise<string> {
    gate.most = Math.max(gate.most, ++gate.running);
    await gate.opened;
    gate.running--;
    return 'done';
  }
}

describe('autoscale set in CeleryModule.forRoot (Nest face, memory transport)', () => {
  let moduleRef: TestingModule;
  let client: CeleryClient;
  const hostname = 'nest-scaler@memory';

  beforeAll(async () => {
    gate.opened = new Promise<void>((resolve) => (gate.open = resolve));
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('autoscale-module'), worker: { hostname, autoscale: [3, 1], autoscaleKeepalive: 0.2 } })],
      providers: [HeldTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    client = moduleRef.get(CeleryClient);
  });

  afterAll(async () => {
    gate.open();
    await moduleRef?.close();
  });

  test('the worker starts at min, grows to max under a burst, and shrinks back to min after the keepalive', async () => {
    const stats = async () => (await client.control.inspect({ destination: [hostname], timeout: 5000 }).stats())[hostname];
    const idle = await stats();
    expect(idle.autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
    expect(idle.prefetch_count).toBe(3);

    const sends = Array.from({ length: 5 }, () => lastValueFrom(client.send('autoscale.hold', [])));
    await eventually(() => gate.running === 3, 'three tasks running at once', 30_000, 20);
    expect((await stats()).autoscaler).toMatchObject({ max: 3, min: 1, current: 3 });

    gate.open();
    await expect(Promise.all(sends)).resolves.toEqual(Array(5).fill('done'));
    expect(gate.most).toBe(3);
    await eventually(async () => ((await stats()).autoscaler as { current: number }).current === 1, 'the pool back at min', 30_000, 100);
  }, 90_000);
});
