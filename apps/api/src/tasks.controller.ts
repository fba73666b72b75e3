import { BadRequestException, Body, Controller, Get, HttpCode, HttpException, HttpStatus, Param, Post } from '@nestjs/common';
import { CeleryClient, type Celery, type ResultMeta } from 'nestjs-celery';
import { lastValueFrom } from 'rxjs';
import { addTask } from '../../shared/tasks.contracts.js';

interface SendTaskBody {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  countdown?: number;
}

/**
 * HTTP in front of Celery: POST a task by name, GET its state and result. Celery's errors become HTTP
 * statuses in CeleryErrorsFilter (a task that raised 502, no answer in time 504, broker unusable 503).
 */
@Controller('tasks')
export class TasksController {
  constructor(private readonly celery: CeleryClient) {}

  /** Without a result backend the api can send tasks but never learn their outcome. */
  private get hasBackend(): boolean {
    return this.celery.unwrap<Celery>().backend !== null;
  }

  /** `POST /tasks/tasks.add {"args": [2, 3]}` → 202 `{ id, state, links }` (`{ id }` alone without a result backend) */
  @Post(':name')
  @HttpCode(202)
  async send(@Param('name') name: string, @Body() body: SendTaskBody = {}) {
    if (body.args !== undefined && !Array.isArray(body.args)) throw new BadRequestException('args must be a JSON array');
    if (body.kwargs !== undefined && (typeof body.kwargs !== 'object' || body.kwargs === null || Array.isArray(body.kwargs))) {
      throw new BadRequestException('kwargs must be a JSON object');
    }
    const result = await this.celery.sendTask(name, body.args ?? [], body.kwargs ?? {}, { queue: body.queue, countdown: body.countdown });
    if (!this.hasBackend) return { id: result.id };
    return { id: result.id, state: await result.state(), links: { self: `/tasks/${result.id}` } };
  }

  /** `GET /tasks/<id>` → `{ id, state, result | error }` (PENDING while unknown; 501 without a result backend) */
  @Get(':id')
  async get(@Param('id') id: string) {
    const meta: ResultMeta | undefined = await this.celery.asyncResult(id).meta();
    if (!meta) return { id, state: 'PENDING', result: null };
    if (meta.status === 'FAILURE' || meta.status === 'REVOKED' || meta.status === 'RETRY') {
      const exc = meta.result as { exc_type?: string; exc_module?: string; exc_message?: unknown[] } | null;
      return { id, state: meta.status, error: { type: exc?.exc_type, module: exc?.exc_module, message: exc?.exc_message }, traceback: meta.traceback };
    }
    return { id, state: meta.status, result: meta.result };
  }

  /** A typed call: `POST /tasks/add/2/3` waits for the sum; refused (501) before sending when no result backend could deliver it. */
  @Post('add/:x/:y')
  async add(@Param('x') x: string, @Param('y') y: string) {
    if (Number.isNaN(Number(x)) || Number.isNaN(Number(y))) throw new BadRequestException('x and y must be numbers');
    if (!this.hasBackend)
      throw new HttpException('no result backend is configured (CELERY_RESULT_BACKEND): POST /tasks/tasks.add instead', HttpStatus.NOT_IMPLEMENTED);
    return { result: await lastValueFrom(this.celery.call(addTask, [Number(x), Number(y)])) };
  }
}
