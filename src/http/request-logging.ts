import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One log line per request, when it is answered: `request completed` (or `request errored`)
 * with the request (method, url, host, remote address and port), the status and the response
 * time. Fastify's default writes two, `incoming request` with the request and then the
 * outcome without it; each line is a redaction pass and a synchronous write, which made
 * logging a fifth of GET /v1/campaigns/{id}'s CPU (bench:api). `incoming request` is still
 * written at debug level, for an operator who needs to see requests that never finish.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    } else {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    }
  }
}
