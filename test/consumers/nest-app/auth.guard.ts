import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';

/** The app's own authentication, JWT-style: `Authorization: Bearer <user>` puts `{ id: user }` on the request. */
@Injectable()
export class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, unknown>; user?: { id: string } }>();
    const user = /^Bearer (\w+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (!user) throw new UnauthorizedException();
    request.user = { id: user };
    return true;
  }
}
