import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { UserContext, VcenterSessionService } from './vcenter-session.service';

export const SESSION_HEADER = 'vmware-api-session-id';
const PUBLIC = 'hdm:public';
/** Marks a route that needs no vSphere session (health, manifest). */
export const Public = () => SetMetadata(PUBLIC, true);

export type SessionRequest = Request & { user?: UserContext };

/** Every API route needs a live vSphere session unless marked @Public(). */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: VcenterSessionService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<SessionRequest>();
    const header = req.headers[SESSION_HEADER];
    req.user = await this.sessions.validate(Array.isArray(header) ? header[0] : header);
    return true;
  }
}
