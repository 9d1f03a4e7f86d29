import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import en from '@assets/i18n/en-US.json';
import { TranslatePipe } from './translate.pipe';
import { TranslateService } from './translate.service';

@Component({
  imports: [TranslatePipe],
  template: `<span id="a">{{ 'hdm.common.sessionExpired' | translate }}</span>
    <span id="b">{{ 'hdm.monitor.bytes' | translate: { done: '1 GB', total: '2 GB', pct: 50 } }}</span>
    <span id="c">{{ 'hdm.no.such.key' | translate }}</span>`,
})
class HostComponent {}

describe('TranslateService', () => {
  let i18n: TranslateService;
  beforeEach(() => {
    TestBed.configureTestingModule({});
    i18n = TestBed.inject(TranslateService);
  });

  it('looks keys up and fills placeholders', () => {
    expect(i18n.instant('hdm.common.sessionExpired')).toBe('Your vSphere session has expired. Log in again.');
    expect(i18n.instant('hdm.jobs.count', { count: 3 })).toBe('3 job(s)');
    expect(i18n.instant('hdm.jobs.count')).toBe('{count} job(s)');
  });

  it('renders an unknown key as the key', () => {
    expect(i18n.has('hdm.nope.nope')).toBeFalse();
    expect(i18n.instant('hdm.nope.nope')).toBe('hdm.nope.nope');
  });

  it('falls back to en-US for locales without a dictionary', () => {
    expect(i18n.use('de-DE')).toBe('en-US');
    expect(i18n.use('en_US')).toBe('en-US');
    expect(i18n.use(undefined)).toBe('en-US');
  });

  it('has only hdm.<feature>.<item> keys with non-empty text', () => {
    for (const [key, value] of Object.entries(en as Record<string, string>)) {
      expect(key).toMatch(/^hdm\.[A-Za-z0-9_]+\.[A-Za-z0-9_.]+$/);
      expect(value.trim().length).toBeGreaterThan(0);
    }
  });
});

describe('TranslatePipe', () => {
  it('translates in templates, with parameters', () => {
    const fixture = TestBed.createComponent(HostComponent);
    fixture.detectChanges();
    const el = fixture.nativeElement as HTMLElement;
    expect(el.querySelector('#a')?.textContent).toBe('Your vSphere session has expired. Log in again.');
    expect(el.querySelector('#b')?.textContent).toBe('1 GB of 2 GB (50%)');
    expect(el.querySelector('#c')?.textContent).toBe('hdm.no.such.key');
  });
});
