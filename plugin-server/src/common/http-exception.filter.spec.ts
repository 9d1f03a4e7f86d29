import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentsHost, BadRequestException } from '@nestjs/common';
import { HttpExceptionFilter } from './http-exception.filter';
import { VimConnectionError, VimFault } from '../vsphere';

function run(err: unknown): { status: number; body: { statusCode: number; localeKey: string; message: string } } {
  const out = { status: 0, body: undefined as never };
  const res = {
    status(s: number) {
      out.status = s;
      return this;
    },
    json(b: never) {
      out.body = b;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  const filter = new HttpExceptionFilter();
  (filter as unknown as { logger: { warn(): void; error(): void } }).logger = { warn() {}, error() {} };
  filter.catch(err, host);
  return out;
}

test('HTTP errors keep their status; validation lists join into one message', () => {
  const r = run(new BadRequestException(['vm must be a VM id', 'kind must be "cold"']));
  assert.equal(r.status, 400);
  assert.equal(r.body.message, 'vm must be a VM id; kind must be "cold"');
  assert.equal(r.body.localeKey, 'hdm.error.badRequest');
});

test('vCenter faults surface with their name and message and a fitting status', () => {
  assert.equal(run(new VimFault('NoPermission', 'Permission to perform this operation was denied.', undefined)).status, 403);
  assert.equal(run(new VimFault('ManagedObjectNotFound', 'The object has already been deleted', undefined)).status, 404);
  const r = run(new VimFault('InvalidState', 'The operation is not allowed in the current state.', undefined));
  assert.equal(r.status, 502);
  assert.equal(r.body.message, 'vCenter: InvalidState: The operation is not allowed in the current state.');
  assert.equal(run(new VimConnectionError('cannot reach https://vc/sdk', 'https://vc/sdk', 'ECONNREFUSED')).status, 502);
  assert.equal(run(new Error('boom')).body.message, 'internal error');
});
