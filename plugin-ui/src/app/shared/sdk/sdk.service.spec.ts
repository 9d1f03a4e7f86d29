import { TestBed } from '@angular/core/testing';
import { FakeSdk, installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { SdkService, parseMoRef } from './sdk.service';

describe('parseMoRef', () => {
  it('parses a VirtualMachine context id', () => {
    expect(parseMoRef('urn:vmomi:VirtualMachine:vm-42:6f1c0e2a-1111-2222-3333-444455556666')).toEqual({
      type: 'VirtualMachine',
      value: 'vm-42',
      serverGuid: '6f1c0e2a-1111-2222-3333-444455556666',
    });
  });

  it('returns null for malformed or missing ids', () => {
    expect(parseMoRef(undefined)).toBeNull();
    expect(parseMoRef('')).toBeNull();
    expect(parseMoRef('vm-42')).toBeNull();
    expect(parseMoRef('urn:other:VirtualMachine:vm-42:guid')).toBeNull();
  });
});

describe('SdkService with the SDK', () => {
  let fake: FakeSdk;
  let sdk: SdkService;

  beforeEach(() => {
    fake = installFakeSdk({ locale: 'de-DE', origin: 'https://vc.example/plugins/hdm/' });
    TestBed.configureTestingModule({});
    sdk = TestBed.inject(SdkService);
  });

  afterEach(() => {
    removeFakeSdk();
    document.body.removeAttribute('cds-theme');
  });

  it('initializes once and then runs the callback', async () => {
    const spy = spyOn(fake, 'initialize').and.callThrough();
    const cb = jasmine.createSpy('cb');
    expect(await sdk.initialize(cb)).toBeTrue();
    expect(await sdk.initialize()).toBeTrue();
    expect(cb).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(sdk.available).toBeTrue();
  });

  it('parses the context object of the current VM', () => {
    expect(sdk.getContextObject()).toEqual({
      type: 'VirtualMachine',
      value: 'vm-42',
      serverGuid: '6f1c0e2a-1111-2222-3333-444455556666',
    });
    fake.contextIds = [];
    expect(sdk.getContextObject()).toBeNull();
  });

  it('returns the session token, locale and proxied origin', async () => {
    expect(await sdk.getSessionToken()).toBe('token-123');
    expect(sdk.getClientLocale()).toBe('de-DE');
    expect(sdk.getPluginServerOrigin()).toBe('https://vc.example/plugins/hdm');
  });

  it('closes the modal with and without data', () => {
    expect(sdk.closeModal()).toBeTrue();
    expect(sdk.closeModal({ jobId: 'j1' })).toBeTrue();
    expect(fake.closeCalls).toEqual([[], [{ jobId: 'j1' }]]);
  });

  it('switches between the light and dark Clarity themes on theme changes', async () => {
    await sdk.initialize();
    expect(fake.themeListeners.length).toBe(1);
    fake.themeListeners[0]({ name: 'dark' });
    expect(document.body.getAttribute('cds-theme')).toBe('dark');
    expect(sdk.theme()).toBe('dark');
    fake.themeListeners[0]({ name: 'light' });
    expect(document.body.getAttribute('cds-theme')).toBe('light');
    expect(sdk.theme()).toBe('light');
  });
});

describe('SdkService without the SDK', () => {
  let sdk: SdkService;

  beforeEach(() => {
    removeFakeSdk();
    TestBed.configureTestingModule({});
    sdk = TestBed.inject(SdkService);
  });

  it('works with safe defaults', async () => {
    const cb = jasmine.createSpy('cb');
    expect(await sdk.initialize(cb)).toBeFalse();
    expect(cb).toHaveBeenCalled();
    expect(sdk.available).toBeFalse();
    expect(sdk.getContextObject()).toBeNull();
    expect(await sdk.getSessionToken()).toBeNull();
    expect(sdk.getClientLocale()).toBe('en-US');
    expect(sdk.getPluginServerOrigin()).toBe('');
    expect(sdk.closeModal()).toBeFalse();
  });
});
