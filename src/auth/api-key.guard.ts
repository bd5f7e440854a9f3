import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PUBLIC_METADATA } from './public.decorator.js';

interface AuthRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: { id: string };
}

/** RFC 9110: the scheme name is case-insensitive. */
const BEARER = /^bearer +([^\s]+)$/i;

/**
 * The demo's authentication: `Authorization: Bearer <key>` with keys from `API_KEYS`, putting
 * `{ id: subject }` on `request.user` as Passport would. Installed only when `API_KEYS` is set;
 * without keys every caller is anonymous.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (
      this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, [
        context.getHandler(),
        context.getClass(),
      ])
    )
      return true;
    const request = context.switchToHttp().getRequest<AuthRequest>();
    const header = request.headers.authorization;
    const key = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    const subject = key === undefined ? undefined : this.config.apiKeys.get(key);
    if (subject === undefined) {
      throw new ProblemException({
        status: 401,
        code: 'UNAUTHENTICATED',
        title: 'Authentication required',
        detail: 'Send a valid API key as Authorization: Bearer <key>.',
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    }
    request.user = { id: subject };
    return true;
  }
}
