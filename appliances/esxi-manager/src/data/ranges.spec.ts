import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HttpError } from '@hdm/appliance-common';
import { parseContentRange, parseRange } from './ranges';

const status = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return err.status;
  }
};

describe('Range and Content-Range', () => {
  it('reads the single-range forms and clips the end to the disk', () => {
    assert.equal(parseRange(undefined, 100), undefined);
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 99 });
  });

  it('answers 416 for what cannot be served', () => {
    for (const h of ['bytes=100-', 'bytes=100-200', 'bytes=9-3', 'bytes=-0', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', 'bytes=-', 'bytes=1e3-', 'bytes=9999999999999999-']) assert.equal(status(() => parseRange(h, 100)), 416, h);
    assert.equal(status(() => parseRange('bytes=0-0', 0)), 416);
  });

  it('Content-Range: inside the disk, of its size', () => {
    assert.deepEqual(parseContentRange('bytes 0-9/100', 100), { start: 0, end: 9 });
    assert.equal(status(() => parseContentRange(undefined, 100)), 400);
    assert.equal(status(() => parseContentRange('bytes */100', 100)), 400);
    assert.equal(status(() => parseContentRange('bytes 5-4/100', 100)), 400);
    assert.equal(status(() => parseContentRange('bytes 0-9/200', 100)), 409);
    assert.equal(status(() => parseContentRange('bytes 95-100/100', 100)), 416);
  });

  it('fuzz: the range returned lies inside the disk; every refusal is an HttpError', () => {
    const header = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.tuple(fc.option(fc.nat({ max: 3000 })), fc.option(fc.nat({ max: 3000 }))).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
      fc.tuple(fc.nat({ max: 3000 }), fc.nat({ max: 3000 }), fc.nat({ max: 3000 })).map(([a, b, s]) => `bytes ${a}-${b}/${s}`),
    );
    fc.assert(
      fc.property(header, fc.nat({ max: 2000 }), (h, size) => {
        for (const parse of [parseRange, parseContentRange]) {
          let r;
          try {
            r = parse(h, size);
          } catch (err) {
            assert.ok(err instanceof HttpError && [400, 409, 416].includes(err.status), String(err));
            continue;
          }
          if (r) assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, `${h} of ${size} → ${JSON.stringify(r)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
