import { TestBed } from '@angular/core/testing';
import { provideNoopAnimations } from '@angular/platform-browser/animations';
import { provideRouter } from '@angular/router';
import { installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { AppComponent } from './app.component';

describe('AppComponent', () => {
  beforeEach(() =>
    TestBed.configureTestingModule({ imports: [AppComponent], providers: [provideRouter([]), provideNoopAnimations()] }),
  );
  afterEach(() => removeFakeSdk());

  it('says so when running outside the vSphere Client', () => {
    removeFakeSdk();
    const fixture = TestBed.createComponent(AppComponent);
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('.hdm-sdk-missing')?.textContent).toContain('vSphere Client SDK is not available');
  });

  it('shows no SDK note inside the vSphere Client', () => {
    installFakeSdk();
    const fixture = TestBed.createComponent(AppComponent);
    fixture.detectChanges();
    expect(fixture.nativeElement.querySelector('.hdm-sdk-missing')).toBeNull();
  });
});
