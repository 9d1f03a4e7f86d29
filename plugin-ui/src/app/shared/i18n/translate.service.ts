import { Injectable, signal } from '@angular/core';
import enUS from '@assets/i18n/en-US.json';

export type Dictionary = Record<string, string>;
export type TranslateParams = Record<string, string | number | null | undefined>;

/** Bundled dictionaries; a locale without one falls back to en-US. */
const DICTIONARIES: Record<string, Dictionary> = { 'en-US': enUS as Dictionary };
export const DEFAULT_LOCALE = 'en-US';

/**
 * Looks up `hdm.<feature>.<item>` keys and fills `{name}` placeholders. A missing key renders as
 * the key itself (scripts/check-i18n.js makes sure no template uses one).
 */
@Injectable({ providedIn: 'root' })
export class TranslateService {
  readonly locale = signal(DEFAULT_LOCALE);
  private dict: Dictionary = DICTIONARIES[DEFAULT_LOCALE];

  /** Switches to `locale` (e.g. "de-DE", "de", "en_US") when bundled, else en-US. Returns the one used. */
  use(locale: string | null | undefined): string {
    const wanted = (locale ?? '').replace('_', '-');
    const found =
      Object.keys(DICTIONARIES).find((l) => l.toLowerCase() === wanted.toLowerCase()) ??
      Object.keys(DICTIONARIES).find((l) => l.split('-')[0].toLowerCase() === wanted.split('-')[0].toLowerCase()) ??
      DEFAULT_LOCALE;
    this.dict = DICTIONARIES[found];
    this.locale.set(found);
    return found;
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.dict, key);
  }

  instant(key: string, params?: TranslateParams): string {
    const text = this.has(key) ? this.dict[key] : DICTIONARIES[DEFAULT_LOCALE][key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const v = params[name];
      return v === undefined || v === null ? whole : String(v);
    });
  }
}
