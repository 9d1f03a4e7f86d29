import { Component, signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { provideNoopAnimations } from '@angular/platform-browser/animations';
import { ApiError } from '@shared/http/api-error';
import { SessionStateService } from '@shared/http/session-state.service';
import { text } from '@shared/testing/view-testing';
import { ApiErrorAlertComponent } from './api-error-alert.component';
import { JobStateLabelComponent, jobStateKey } from './job-state-label.component';

@Component({
  imports: [ApiErrorAlertComponent, JobStateLabelComponent],
  template: `<hdm-api-error-alert [error]="error()" /><hdm-job-state-label [state]="state()" />`,
})
class HostComponent {
  readonly error = signal<ApiError | null>(null);
  readonly state = signal('queued');
}

describe('shared UI', () => {
  beforeEach(() => TestBed.configureTestingModule({ providers: [provideNoopAnimations()] }));

  it('maps job states to label keys', () => {
    expect(jobStateKey('running')).toBe('hdm.jobState.running');
    expect(jobStateKey('weird')).toBe('hdm.jobState.unknown');
  });

  it('renders Clarity labels per state and alerts per error kind', () => {
    const fixture = TestBed.createComponent(HostComponent);
    const el: HTMLElement = fixture.nativeElement;
    fixture.detectChanges();
    expect(el.querySelector('.alert')).toBeNull();
    expect(el.querySelector('.label.label-purple')?.textContent).toBe('Queued');

    fixture.componentInstance.state.set('cancelled');
    fixture.componentInstance.error.set({ status: 400, sessionExpired: false, message: 'bad "name"' });
    fixture.detectChanges();
    expect(el.querySelector('.label.label-warning')?.textContent).toBe('Cancelled');
    expect(text(el.querySelector('.hdm-api-error'))).toBe('bad "name"');

    fixture.componentInstance.error.set({ status: 500, sessionExpired: false, message: null });
    fixture.detectChanges();
    expect(text(el.querySelector('.hdm-api-error'))).toBe('The request failed (HTTP 500).');

    TestBed.inject(SessionStateService).markExpired();
    fixture.detectChanges();
    expect(el.querySelector('.hdm-api-error')).toBeNull();
    expect(text(el.querySelector('.hdm-session-expired'))).toBe('Your vSphere session has expired. Log in again.');
  });
});
