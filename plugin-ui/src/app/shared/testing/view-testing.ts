import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { provideHttpClientTesting } from '@angular/common/http/testing';
import { EnvironmentProviders, Provider } from '@angular/core';
import { ComponentFixture } from '@angular/core/testing';
import { provideNoopAnimations } from '@angular/platform-browser/animations';
import { provideRouter } from '@angular/router';
import { sessionInterceptor } from '@shared/http/session.interceptor';

/** Providers every view spec needs: HTTP through the real interceptor into HttpTestingController. */
export function viewTestProviders(): (Provider | EnvironmentProviders)[] {
  return [
    provideHttpClient(withInterceptors([sessionInterceptor])),
    provideHttpClientTesting(),
    provideRouter([]),
    provideNoopAnimations(),
  ];
}

/** Lets promises and zero-delay timers settle, then renders. */
export async function settle<T>(fixture: ComponentFixture<T>): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((r) => setTimeout(r, 0));
    fixture.detectChanges();
  }
  await fixture.whenStable();
  fixture.detectChanges();
}

export function text(el: Element | null | undefined): string {
  return (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

export function all(root: HTMLElement, selector: string): string[] {
  return Array.from(root.querySelectorAll(selector)).map((e) => text(e));
}

export function selectValue(root: HTMLElement, selector: string, value: string): void {
  const select = root.querySelector(selector) as HTMLSelectElement;
  if (!select) throw new Error(`no element ${selector}`);
  select.value = value;
  select.dispatchEvent(new Event('change'));
}

export function typeText(root: HTMLElement, selector: string, value: string): void {
  const input = root.querySelector(selector) as HTMLInputElement;
  if (!input) throw new Error(`no element ${selector}`);
  input.value = value;
  input.dispatchEvent(new Event('input'));
  input.dispatchEvent(new Event('blur'));
}
