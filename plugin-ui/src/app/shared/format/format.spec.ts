import { formatBytes, formatRate, percentDone } from './format';

describe('format', () => {
  it('formats bytes in human units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(10 * 1024 ** 3)).toBe('10.0 GB');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
  });

  it('formats a rate', () => {
    expect(formatRate(112.4 * 1024 * 1024)).toBe('112.4 MB/s');
    expect(formatRate(null)).toBe('—');
  });

  it('computes a clamped percentage', () => {
    expect(percentDone(50, 200)).toBe(25);
    expect(percentDone(5, 0)).toBe(0);
    expect(percentDone(300, 200)).toBe(100);
  });
});
