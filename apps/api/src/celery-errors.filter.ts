// How the api answers when Celery fails it: each error the client can raise mapped to its HTTP status.
import { Catch, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { CeleryError, CeleryTaskError, CeleryTimeoutError, InvalidTaskOptionsError, NoResultBackendError } from 'nestjs-celery';

/** The HTTP status for a Celery error: the caller's mistake (4xx), or the fleet's (5xx). */
export function httpStatusOf(error: CeleryError | CeleryTaskError): number {
  if (error instanceof CeleryTaskError) return HttpStatus.BAD_GATEWAY; // the task ran and raised
  if (error instanceof CeleryTimeoutError) return HttpStatus.GATEWAY_TIMEOUT; // no worker answered in time
  if (error instanceof NoResultBackendError) return HttpStatus.NOT_IMPLEMENTED; // this deployment keeps no results
  if (error instanceof InvalidTaskOptionsError) return HttpStatus.BAD_REQUEST;
  // BrokerUnavailableError, PublishTimeoutError, a connection given up on …: the broker or backend is not usable now
  return HttpStatus.SERVICE_UNAVAILABLE;
}

@Catch(CeleryError, CeleryTaskError)
export class CeleryErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('api');

  catch(error: CeleryError | CeleryTaskError, host: ArgumentsHost): void {
    const statusCode = httpStatusOf(error);
    const body =
      error instanceof CeleryTaskError
        ? { statusCode, error: 'task failed', exc_type: error.excType, exc_module: error.excModule, exc_message: error.excMessage }
        : { statusCode, error: error.name, message: error.message };
    if (statusCode >= 500) this.logger.warn(`${error.name}: ${error.message}`);
    host.switchToHttp().getResponse<ServerResponse>().writeHead(statusCode, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
